//! Recursive-descent parser producing raw trees. Only syntax is checked here; everything else
//! (reserved words, placeholders, functions, types) is the checker's, in DynamoDB's order.
//!
//! Nesting is bounded by [`NESTING_MAX`], so no input can exhaust the stack.

use crate::ast::{CompareOp, Node, RawElem, RawPath};
use crate::lexer::{tokenize, Tok, Token};

/// Deepest nesting of parentheses, NOT and function calls the parser accepts.
///
/// DynamoDB's own bound is not known (the research notes do not pin one). This one keeps
/// parsing, checking and evaluating the deepest accepted expression well inside a 2 MiB
/// stack (tokio's worker default) even in debug builds: measured, 256 levels of
/// parenthesised AND/OR needed more than 2 MiB there, 150 fitted.
pub const NESTING_MAX: usize = 100;

/// Where parsing stopped: the offending token and its neighbourhood, as DynamoDB reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub token: String,
    pub near: String,
}

type PResult<T> = Result<T, SyntaxError>;

/// The right-hand side of a SET action.
#[derive(Clone, Debug, PartialEq)]
pub enum RawSet {
    Operand(Node),
    Plus(Node, Node),
    Minus(Node, Node),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Set,
    Remove,
    Add,
    Delete,
}

impl Section {
    pub fn name(self) -> &'static str {
        match self {
            Section::Set => "SET",
            Section::Remove => "REMOVE",
            Section::Add => "ADD",
            Section::Delete => "DELETE",
        }
    }
}

/// One action of an update expression, in the order written.
#[derive(Clone, Debug, PartialEq)]
pub enum RawAction {
    Set(RawPath, RawSet),
    Remove(RawPath),
    Add(RawPath, String),
    Delete(RawPath, String),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct RawUpdate {
    pub actions: Vec<RawAction>,
    /// The first section written twice, if any.
    pub duplicate_section: Option<Section>,
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    /// Words that are grammar in this kind of expression and so never names.
    keywords: &'static [&'static str],
}

const CONDITION_KEYWORDS: &[&str] = &["AND", "OR", "NOT", "BETWEEN", "IN"];
/// The section names end a path list, so `SET a = :v, REMOVE b` fails at `REMOVE`.
const UPDATE_KEYWORDS: &[&str] = &["SET", "REMOVE", "ADD", "DELETE"];

impl<'a> Parser<'a> {
    fn new(src: &'a str, keywords: &'static [&'static str]) -> Self {
        Parser {
            src,
            toks: tokenize(src),
            pos: 0,
            depth: 0,
            keywords,
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, offset: usize) -> Option<&Tok> {
        self.toks.get(self.pos + offset).map(|t| &t.tok)
    }

    fn text(&self, i: usize) -> &'a str {
        self.toks.get(i).map_or("", |t| &self.src[t.start..t.end])
    }

    fn is_keyword(&self, kw: &str) -> bool {
        self.peek() == Some(&Tok::Ident) && self.text(self.pos).eq_ignore_ascii_case(kw)
    }

    /// The error for the token at the current position: `near` spans the previous, this and
    /// the next token as written; at the end of input the token is `<EOF>`.
    fn error(&self) -> SyntaxError {
        let i = self.pos;
        if i >= self.toks.len() {
            let near = i.checked_sub(1).map_or("", |p| self.text(p));
            return SyntaxError {
                token: "<EOF>".to_string(),
                near: near.to_string(),
            };
        }
        let first = self.toks[i.saturating_sub(1)].start;
        let last = self.toks[(i + 1).min(self.toks.len() - 1)].end;
        SyntaxError {
            token: self.text(i).to_string(),
            near: self.src[first..last].to_string(),
        }
    }

    fn expect(&mut self, tok: Tok) -> PResult<()> {
        if self.peek() == Some(&tok) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > NESTING_MAX {
            return Err(self.error());
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn end(&self) -> PResult<()> {
        if self.pos < self.toks.len() {
            Err(self.error())
        } else {
            Ok(())
        }
    }

    // ---- paths and operands ----

    fn path_elem_name(&mut self) -> PResult<RawElem> {
        let text = self.text(self.pos).to_string();
        let elem = match self.peek() {
            // Keywords are grammar, never names.
            Some(Tok::Ident) if self.keywords.iter().any(|k| text.eq_ignore_ascii_case(k)) => {
                return Err(self.error());
            }
            Some(Tok::Ident) => RawElem::Name(text),
            Some(Tok::NameRef) => RawElem::NameRef(text),
            _ => return Err(self.error()),
        };
        self.pos += 1;
        Ok(elem)
    }

    fn path(&mut self) -> PResult<RawPath> {
        let mut path = vec![self.path_elem_name()?];
        loop {
            match self.peek() {
                Some(Tok::Dot) => {
                    self.pos += 1;
                    path.push(self.path_elem_name()?);
                }
                Some(Tok::LBracket) => {
                    self.pos += 1;
                    if self.peek() != Some(&Tok::Digits) {
                        return Err(self.error());
                    }
                    // Absurd indexes saturate; they behave as "past the end" of any list.
                    let index = self.text(self.pos).parse::<usize>().unwrap_or(usize::MAX);
                    self.pos += 1;
                    self.expect(Tok::RBracket)?;
                    path.push(RawElem::Index(index));
                }
                _ => return Ok(path),
            }
        }
    }

    /// A path, a `:value`, or a function call `name(args)`. In conditions a function's
    /// arguments may be parenthesised (`size((a))`), as any condition operand may.
    fn operand(&mut self, condition: bool) -> PResult<Node> {
        match self.peek() {
            Some(Tok::ValueRef) => {
                let name = self.text(self.pos).to_string();
                self.pos += 1;
                Ok(Node::Value(name))
            }
            Some(Tok::Ident) if self.peek_at(1) == Some(&Tok::LParen) => {
                let name = self.text(self.pos).to_string();
                self.pos += 2;
                self.enter()?;
                let mut args = vec![self.argument(condition)?];
                while self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                    args.push(self.argument(condition)?);
                }
                self.expect(Tok::RParen)?;
                self.leave();
                Ok(Node::Call(name, args))
            }
            Some(Tok::Ident | Tok::NameRef) => Ok(Node::Path(self.path()?)),
            _ => Err(self.error()),
        }
    }

    fn argument(&mut self, condition: bool) -> PResult<Node> {
        if condition {
            self.comparison_operand()
        } else {
            self.operand(false)
        }
    }

    /// `(operand)` followed by a comparator, BETWEEN or IN: the left operand of a comparison
    /// in parentheses (`(a) > :v`, `((a)) = :v` for the redundant-parentheses check). None,
    /// with the position restored, when the parentheses hold a condition instead.
    fn parenthesised_left_operand(&mut self) -> Option<Node> {
        let (pos, depth) = (self.pos, self.depth);
        let node = self.comparison_operand().ok().filter(|_| {
            matches!(
                self.peek(),
                Some(Tok::Eq | Tok::Ne | Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge)
            ) || self.is_keyword("BETWEEN")
                || self.is_keyword("IN")
        });
        if node.is_none() {
            // Backtrack: the parentheses hold a condition (or a syntax error the condition
            // grammar reports). Each level re-scans at most the tokens of its own parentheses,
            // and nesting is bounded, so this stays cheap.
            self.pos = pos;
            self.depth = depth;
        }
        node
    }

    // ---- conditions ----

    fn or_expr(&mut self) -> PResult<Node> {
        let mut left = self.and_expr()?;
        while self.is_keyword("OR") {
            self.pos += 1;
            let right = self.and_expr()?;
            left = Node::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Node> {
        let mut left = self.not_expr()?;
        while self.is_keyword("AND") {
            self.pos += 1;
            let right = self.not_expr()?;
            left = Node::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> PResult<Node> {
        if self.is_keyword("NOT") {
            self.pos += 1;
            self.enter()?;
            let inner = self.not_expr()?;
            self.leave();
            return Ok(Node::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> PResult<Node> {
        let starts_with_paren = self.peek() == Some(&Tok::LParen);
        let parenthesised_operand = if starts_with_paren {
            self.parenthesised_left_operand()
        } else {
            None
        };
        let left = if let Some(operand) = parenthesised_operand {
            operand
        } else if starts_with_paren {
            self.pos += 1;
            self.enter()?;
            let inner = self.or_expr()?;
            self.expect(Tok::RParen)?;
            self.leave();
            Node::Parens(Box::new(inner))
        } else {
            self.operand(true)?
        };
        let op = match self.peek() {
            Some(Tok::Eq) => Some(CompareOp::Eq),
            Some(Tok::Ne) => Some(CompareOp::Ne),
            Some(Tok::Lt) => Some(CompareOp::Lt),
            Some(Tok::Le) => Some(CompareOp::Le),
            Some(Tok::Gt) => Some(CompareOp::Gt),
            Some(Tok::Ge) => Some(CompareOp::Ge),
            _ => None,
        };
        let continues = op.is_some() || self.is_keyword("BETWEEN") || self.is_keyword("IN");
        if continues && left.is_condition() {
            // `(a = b) = c`: a condition is not an operand.
            return Err(self.error());
        }
        if let Some(op) = op {
            self.pos += 1;
            let right = self.comparison_operand()?;
            return Ok(Node::Compare(op, Box::new(left), Box::new(right)));
        }
        if self.is_keyword("BETWEEN") {
            self.pos += 1;
            let low = self.comparison_operand()?;
            if !self.is_keyword("AND") {
                return Err(self.error());
            }
            self.pos += 1;
            let high = self.comparison_operand()?;
            return Ok(Node::Between(Box::new(left), Box::new(low), Box::new(high)));
        }
        if self.is_keyword("IN") {
            self.pos += 1;
            self.expect(Tok::LParen)?;
            let mut list = vec![self.comparison_operand()?];
            while self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
                list.push(self.comparison_operand()?);
            }
            self.expect(Tok::RParen)?;
            return Ok(Node::In(Box::new(left), list));
        }
        // Standing alone: a parenthesised condition or a function call. A bare path or value
        // is not a condition.
        match left {
            Node::Parens(_) | Node::Call(..) => Ok(left),
            _ => Err(self.error()),
        }
    }

    /// An operand on the right of a comparator, possibly parenthesised.
    fn comparison_operand(&mut self) -> PResult<Node> {
        match self.in_parens(Self::comparison_operand)? {
            Some(inner) => Ok(Node::Parens(Box::new(inner))),
            None => self.operand(true),
        }
    }

    /// `( inner )` when the next token opens a parenthesis (nesting bounded), else None with
    /// nothing consumed.
    fn in_parens<T>(&mut self, inner: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<Option<T>> {
        if self.peek() != Some(&Tok::LParen) {
            return Ok(None);
        }
        self.pos += 1;
        self.enter()?;
        let value = inner(self)?;
        self.expect(Tok::RParen)?;
        self.leave();
        Ok(Some(value))
    }

    // ---- update ----

    /// A SET value: an operand, or `operand + operand` / `operand - operand`; the whole value
    /// or either operand may stand in parentheses (`(c - :v)`, `c - (:v)`).
    fn set_value(&mut self) -> PResult<RawSet> {
        if let Some(inner) = self.in_parens(Self::set_value)? {
            return match inner {
                RawSet::Operand(left) => self.set_rest(left),
                _ if matches!(self.peek(), Some(Tok::Plus | Tok::Minus)) => Err(self.error()),
                other => Ok(other),
            };
        }
        let left = self.operand(false)?;
        self.set_rest(left)
    }

    fn set_rest(&mut self, left: Node) -> PResult<RawSet> {
        match self.peek() {
            Some(Tok::Plus) => {
                self.pos += 1;
                Ok(RawSet::Plus(left, self.set_operand()?))
            }
            Some(Tok::Minus) => {
                self.pos += 1;
                Ok(RawSet::Minus(left, self.set_operand()?))
            }
            _ => Ok(RawSet::Operand(left)),
        }
    }

    fn set_operand(&mut self) -> PResult<Node> {
        match self.in_parens(Self::set_operand)? {
            Some(inner) => Ok(inner),
            None => self.operand(false),
        }
    }

    fn value_ref(&mut self) -> PResult<String> {
        if self.peek() != Some(&Tok::ValueRef) {
            return Err(self.error());
        }
        let name = self.text(self.pos).to_string();
        self.pos += 1;
        Ok(name)
    }

    fn update(&mut self) -> PResult<RawUpdate> {
        let mut out = RawUpdate::default();
        let mut seen: Vec<Section> = Vec::new();
        if self.pos >= self.toks.len() {
            return Err(self.error());
        }
        while self.pos < self.toks.len() {
            let section = if self.is_keyword("SET") {
                Section::Set
            } else if self.is_keyword("REMOVE") {
                Section::Remove
            } else if self.is_keyword("ADD") {
                Section::Add
            } else if self.is_keyword("DELETE") {
                Section::Delete
            } else {
                return Err(self.error());
            };
            self.pos += 1;
            if seen.contains(&section) {
                out.duplicate_section = out.duplicate_section.or(Some(section));
            }
            seen.push(section);
            loop {
                let path = self.path()?;
                let action = match section {
                    Section::Set => {
                        self.expect(Tok::Eq)?;
                        RawAction::Set(path, self.set_value()?)
                    }
                    Section::Remove => RawAction::Remove(path),
                    Section::Add => RawAction::Add(path, self.value_ref()?),
                    Section::Delete => RawAction::Delete(path, self.value_ref()?),
                };
                out.actions.push(action);
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        Ok(out)
    }
}

pub fn parse_condition(src: &str) -> PResult<Node> {
    let mut p = Parser::new(src, CONDITION_KEYWORDS);
    let node = p.or_expr()?;
    p.end()?;
    Ok(node)
}

pub fn parse_update(src: &str) -> PResult<RawUpdate> {
    let mut p = Parser::new(src, UPDATE_KEYWORDS);
    let update = p.update()?;
    p.end()?;
    Ok(update)
}

pub fn parse_projection(src: &str) -> PResult<Vec<RawPath>> {
    // Not pinned by the notes; the condition keywords, as before.
    let mut p = Parser::new(src, CONDITION_KEYWORDS);
    let mut paths = vec![p.path()?];
    while p.peek() == Some(&Tok::Comma) {
        p.pos += 1;
        paths.push(p.path()?);
    }
    p.end()?;
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: PResult<impl std::fmt::Debug>) -> (String, String) {
        let e = r.unwrap_err();
        (e.token, e.near)
    }

    #[test]
    fn syntax_errors_report_token_and_neighbours() {
        assert_eq!(
            err(parse_update("INVALID SYNTAX HERE")),
            ("INVALID".into(), "INVALID SYNTAX".into())
        );
        assert_eq!(err(parse_projection("!!! INVALID !!!")), ("!".into(), "!!".into()));
        assert_eq!(err(parse_update("SET #a = :a, #b = :b,")), ("<EOF>".into(), ",".into()));
        assert_eq!(err(parse_update("SET _123 = :val1")), ("_".into(), "SET _123".into()));
        assert_eq!(err(parse_update("SET")), ("<EOF>".into(), "SET".into()));
        assert_eq!(
            err(parse_condition("a = :v AND __typename = :x")),
            ("_".into(), "AND __".into())
        );
        assert_eq!(
            err(parse_condition("attribute_exists(a) AND b IN ([1")),
            ("[".into(), "([1".into())
        );
        assert_eq!(
            err(parse_update("SET a = list_append(a, 0)")),
            ("0".into(), ", 0)".into())
        );
    }

    #[test]
    fn rejects_what_dynamodb_rejects() {
        for bad in [
            "things are not gonna be ok",
            "a > 4",
            "attribute_exists(Pictures-RearView)",
            "attribute_exists(\"Pictures.RearView\")",
            "attribute_exists(Pictures..RearView)",
            "attribute_exists(Pi#ctures.RearView)",
            "attribute_exists(asdf[a])",
            "a in b, c",
            "a > between",
            "a in b",
            "a in (b,c,)",
            "#$.b > a",
            "a > :things.stuff",
            "b[:a] > a",
            "b[#_] > a",
            "ü > a",
            "size(a).b > a",
            "(size(a)).b > a",
            "size(a)[0] > a",
            "a",
            ":a",
            "a = :v AND",
            "(a = :v",
            "a[4.5] = :v",
        ] {
            assert!(parse_condition(bad).is_err(), "{bad}");
        }
        for bad in [
            "set a = b + c + d",
            "set a = b * c",
            "set (a = (b + c))",
            "set a = if_not_exists(c, :v1+:v2)",
            "ADD a b",
            "REMOVE a = :v",
        ] {
            assert!(parse_update(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_precedence() {
        let n = parse_condition("NOT a = :a OR b = :b AND c = :c").unwrap();
        let Node::Or(left, right) = n else { panic!("{n:?}") };
        assert!(matches!(*left, Node::Not(_)));
        assert!(matches!(*right, Node::And(..)));
        assert!(parse_condition("a BETWEEN :a AND :b AND c IN (:c, :d)").is_ok());
        assert!(parse_condition("(size(a)) > :v").is_ok());
    }

    #[test]
    fn parses_parenthesised_set_values() {
        for text in [
            "SET c = (c - :v)",
            "SET c = (:v)",
            "SET c = c - (:v)",
            "SET c = ((c) + (:v))",
        ] {
            let u = parse_update(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(u.actions.len(), 1, "{text}");
        }
        assert!(parse_update("SET c = (a + b) - c").is_err());
        assert!(parse_update("SET c = (c - :v").is_err());
    }

    #[test]
    fn parses_update_sections() {
        let u =
            parse_update("set a = :a, b = if_not_exists(b, :z) + :n remove c[2], d.e ADD f :f delete g :g SET h = :h")
                .unwrap();
        assert_eq!(u.actions.len(), 7);
        assert_eq!(u.duplicate_section, Some(Section::Set));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}a = :v{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse_condition(&deep).is_err());
        let deep_not = format!("{}a = :v", "NOT ".repeat(5000));
        assert!(parse_condition(&deep_not).is_err());
        let deep_call = format!("{}a{}", "size(".repeat(5000), ")".repeat(5000));
        assert!(parse_condition(&deep_call).is_err());
    }
}
