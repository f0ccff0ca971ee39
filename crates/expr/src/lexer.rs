//! Tokens of the expression language, with their byte spans in the source (for DynamoDB's
//! `Syntax error; token: "…", near: "…"` messages).

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A bare name or keyword: `[A-Za-z][A-Za-z0-9_]*`.
    Ident,
    /// `#name`
    NameRef,
    /// `:value`
    ValueRef,
    /// Decimal digits (list indexes only).
    Digits,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    /// Any other character: always a syntax error where it stands.
    Other,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub fn tokenize(src: &str) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let run = |from: usize| from + bytes[from..].iter().take_while(|&&c| is_word_byte(c)).count();
        let (tok, end) = match b {
            b'a'..=b'z' | b'A'..=b'Z' => (Tok::Ident, run(i)),
            b'0'..=b'9' => (
                Tok::Digits,
                i + bytes[i..].iter().take_while(|c| c.is_ascii_digit()).count(),
            ),
            b'#' | b':' if bytes.get(i + 1).is_some_and(|&c| is_word_byte(c)) => {
                (if b == b'#' { Tok::NameRef } else { Tok::ValueRef }, run(i + 1))
            }
            b'(' => (Tok::LParen, i + 1),
            b')' => (Tok::RParen, i + 1),
            b'[' => (Tok::LBracket, i + 1),
            b']' => (Tok::RBracket, i + 1),
            b',' => (Tok::Comma, i + 1),
            b'.' => (Tok::Dot, i + 1),
            b'=' => (Tok::Eq, i + 1),
            b'+' => (Tok::Plus, i + 1),
            b'-' => (Tok::Minus, i + 1),
            b'<' => match bytes.get(i + 1) {
                Some(b'>') => (Tok::Ne, i + 2),
                Some(b'=') => (Tok::Le, i + 2),
                _ => (Tok::Lt, i + 1),
            },
            b'>' => match bytes.get(i + 1) {
                Some(b'=') => (Tok::Ge, i + 2),
                _ => (Tok::Gt, i + 1),
            },
            _ => {
                // One whole character, however many bytes it takes in UTF-8.
                let len = src[i..].chars().next().map_or(1, char::len_utf8);
                (Tok::Other, i + len)
            }
        };
        out.push(Token { tok, start, end });
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        tokenize(s).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn splits_tokens() {
        assert_eq!(
            kinds("a.b[3] <> :v AND #n>=size(x)"),
            vec![
                Tok::Ident,
                Tok::Dot,
                Tok::Ident,
                Tok::LBracket,
                Tok::Digits,
                Tok::RBracket,
                Tok::Ne,
                Tok::ValueRef,
                Tok::Ident,
                Tok::NameRef,
                Tok::Ge,
                Tok::Ident,
                Tok::LParen,
                Tok::Ident,
                Tok::RParen
            ]
        );
        // `_` cannot start a name; `#` alone is just a character.
        assert_eq!(kinds("_123"), vec![Tok::Other, Tok::Digits]);
        assert_eq!(kinds("# ü"), vec![Tok::Other, Tok::Other]);
        assert_eq!(kinds("#_ :1"), vec![Tok::NameRef, Tok::ValueRef]);
    }
}
