//! Tokens of RocketMQ's `SelectorParser.jj`, produced on demand.
//!
//! The lexer is lazy on purpose: Java's generated parser lexes at most the token (two after
//! `NOT`/`IS`) it needs to decide, and ignores whatever follows a complete expression, so a
//! lexical error past that point is not an error in RocketMQ either.
//!
//! Rules (JavaCC longest match, keywords win ties with identifiers):
//! - blanks: space, tab, `\n`, `\r`, form feed; `-- …` up to and including a line end (at the
//!   very end of the text without a line end it is not a comment but two `-` tokens);
//!   `/* … */` (unterminated: error at the `/`);
//! - keywords, any case: `NOT AND OR BETWEEN IN TRUE FALSE NULL IS CONTAINS STARTSWITH
//!   ENDSWITH`;
//! - identifiers: an ASCII letter, `_` or `$`, then ASCII letters, digits, `_`, `$` (no `.`;
//!   JavaCC's case folding also admits the Kelvin sign U+212A);
//! - decimals: `0`, or `[1-9][0-9]*` with an optional `l`/`L`;
//! - floats: `1.`, `1.5`, `.5`, `1e5`, `1.5E-3` (exponent sign optional);
//! - strings: `'…'`, a doubled `''` stands for one quote; they may span lines;
//! - operators: `= <> > >= < <= ( ) , + -`.

use std::borrow::Cow;

use super::SqlError;

/// What a token is; numbers and identifiers keep their source text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind<'t> {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    Decimal(&'t str),
    Float(&'t str),
    Str(Cow<'t, str>),
    Id(&'t str),
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Eof,
}

/// A token and its byte span in the text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'t> {
    pub kind: Kind<'t>,
    pub start: usize,
    pub end: usize,
}

const KEYWORDS: [(&str, Kind<'static>); 12] = [
    ("NOT", Kind::Not),
    ("AND", Kind::And),
    ("OR", Kind::Or),
    ("BETWEEN", Kind::Between),
    ("IN", Kind::In),
    ("TRUE", Kind::True),
    ("FALSE", Kind::False),
    ("NULL", Kind::Null),
    ("IS", Kind::Is),
    ("CONTAINS", Kind::Contains),
    ("STARTSWITH", Kind::StartsWith),
    ("ENDSWITH", Kind::EndsWith),
];

/// 1-based character number of byte offset `at`, for messages.
pub(crate) fn char_number(text: &str, at: usize) -> usize {
    text.get(..at).map_or(at, |head| head.chars().count()) + 1
}

/// The source text of a token, shortened for an error message.
pub(crate) fn describe(text: &str, token: &Token<'_>) -> String {
    if token.kind == Kind::Eof {
        return "the end of the filter".to_owned();
    }
    let source = text.get(token.start..token.end).unwrap_or("");
    let short: String = source.chars().take(32).collect();
    let ellipsis = if short.len() < source.len() {
        "…"
    } else {
        ""
    };
    format!("'{short}{ellipsis}'")
}

pub(crate) struct Lexer<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Lexer<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        Lexer { text, pos: 0 }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.text.as_bytes().get(at).copied()
    }

    fn error(&self, what: &str, at: usize) -> SqlError {
        SqlError::new(format!(
            "{what} at character {}",
            char_number(self.text, at)
        ))
    }

    /// The next token; [`Kind::Eof`] forever once the text is used up.
    pub(crate) fn next_token(&mut self) -> Result<Token<'t>, SqlError> {
        self.skip_blanks()?;
        let start = self.pos;
        let Some(first) = self.byte(start) else {
            return Ok(Token {
                kind: Kind::Eof,
                start,
                end: start,
            });
        };
        let (kind, end) = match first {
            b'\'' => self.string(start)?,
            b'0'..=b'9' | b'.' => self.number(start)?,
            _ if self.word_char_len(start, false) > 0 => self.word(start),
            _ => self.operator(start)?,
        };
        self.pos = end;
        Ok(Token { kind, start, end })
    }

    fn skip_blanks(&mut self) -> Result<(), SqlError> {
        loop {
            match (self.byte(self.pos), self.byte(self.pos + 1)) {
                (Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0c), _) => self.pos += 1,
                (Some(b'-'), Some(b'-')) => {
                    let rest = &self.text[self.pos..];
                    match rest.find(['\n', '\r']) {
                        Some(line_end) => self.pos += line_end + 1,
                        None => return Ok(()), // not a comment: two `-` tokens
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let body = &self.text[self.pos + 2..];
                    match body.find("*/") {
                        Some(close) => self.pos += 2 + close + 2,
                        None => return Err(self.error("unterminated comment '/*'", self.pos)),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// A string literal. Longest match, as JavaCC does it: in `'a''b` (no closing quote)
    /// the literal is `'a'` and `'b` is left for the next token.
    fn string(&self, start: usize) -> Result<(Kind<'t>, usize), SqlError> {
        let bytes = self.text.as_bytes();
        let mut at = start + 1;
        let mut end = None;
        let mut escaped = false;
        while let Some(&byte) = bytes.get(at) {
            if byte != b'\'' {
                at += 1;
                continue;
            }
            end = Some(at + 1);
            if bytes.get(at + 1) != Some(&b'\'') {
                break;
            }
            escaped = true;
            at += 2;
        }
        let Some(end) = end else {
            return Err(self.error("unterminated string literal", start));
        };
        let inner = &self.text[start + 1..end - 1];
        let value = if escaped && inner.contains('\'') {
            Cow::Owned(inner.replace("''", "'"))
        } else {
            Cow::Borrowed(inner)
        };
        Ok((Kind::Str(value), end))
    }

    fn digits_from(&self, mut at: usize) -> usize {
        while matches!(self.byte(at), Some(b'0'..=b'9')) {
            at += 1;
        }
        at
    }

    /// End of a complete exponent starting at `at`, if there is one.
    fn exponent(&self, at: usize) -> Option<usize> {
        if !matches!(self.byte(at), Some(b'e' | b'E')) {
            return None;
        }
        let mut digits = at + 1;
        if matches!(self.byte(digits), Some(b'+' | b'-')) {
            digits += 1;
        }
        let end = self.digits_from(digits);
        (end > digits).then_some(end)
    }

    fn number(&self, start: usize) -> Result<(Kind<'t>, usize), SqlError> {
        let int_end = self.digits_from(start);
        if self.byte(int_end) == Some(b'.') {
            let frac_end = self.digits_from(int_end + 1);
            if int_end == start && frac_end == int_end + 1 {
                return Err(self.error("unexpected character '.'", start));
            }
            let end = self.exponent(frac_end).unwrap_or(frac_end);
            return Ok((Kind::Float(&self.text[start..end]), end));
        }
        if let Some(end) = self.exponent(int_end) {
            return Ok((Kind::Float(&self.text[start..end]), end));
        }
        let end = if self.byte(start) == Some(b'0') {
            start + 1
        } else if matches!(self.byte(int_end), Some(b'l' | b'L')) {
            int_end + 1
        } else {
            int_end
        };
        Ok((Kind::Decimal(&self.text[start..end]), end))
    }

    /// Bytes of the identifier character at `at` (0 when there is none). Java's generated
    /// lexer also takes the Kelvin sign (U+212A, lower case `k`) as a letter.
    fn word_char_len(&self, at: usize, digits: bool) -> usize {
        match self.byte(at) {
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'$') => 1,
            Some(b'0'..=b'9') if digits => 1,
            Some(_)
                if self
                    .text
                    .get(at..)
                    .is_some_and(|rest| rest.starts_with('\u{212A}')) =>
            {
                3
            }
            _ => 0,
        }
    }

    fn word(&self, start: usize) -> (Kind<'t>, usize) {
        let mut end = start;
        loop {
            let len = self.word_char_len(end, true);
            if len == 0 {
                break;
            }
            end += len;
        }
        let word = &self.text[start..end];
        let kind = KEYWORDS
            .iter()
            .find(|(keyword, _)| keyword.eq_ignore_ascii_case(word))
            .map_or(Kind::Id(word), |(_, kind)| kind.clone());
        (kind, end)
    }

    fn operator(&self, start: usize) -> Result<(Kind<'t>, usize), SqlError> {
        let next = self.byte(start + 1);
        let (kind, len) = match self.byte(start) {
            Some(b'=') => (Kind::Eq, 1),
            Some(b'<') if next == Some(b'>') => (Kind::Ne, 2),
            Some(b'<') if next == Some(b'=') => (Kind::Le, 2),
            Some(b'<') => (Kind::Lt, 1),
            Some(b'>') if next == Some(b'=') => (Kind::Ge, 2),
            Some(b'>') => (Kind::Gt, 1),
            Some(b'(') => (Kind::LParen, 1),
            Some(b')') => (Kind::RParen, 1),
            Some(b',') => (Kind::Comma, 1),
            Some(b'+') => (Kind::Plus, 1),
            Some(b'-') => (Kind::Minus, 1),
            _ => {
                let bad = self.text[start..].chars().next().unwrap_or('?');
                return Err(self.error(&format!("unexpected character {bad:?}"), start));
            }
        };
        Ok((kind, start + len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Result<Vec<Kind<'_>>, SqlError> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        loop {
            let token = lexer.next_token()?;
            if token.kind == Kind::Eof {
                return Ok(out);
            }
            out.push(token.kind);
        }
    }

    #[test]
    fn numbers_follow_longest_match() {
        use Kind::*;
        assert_eq!(kinds("0").unwrap(), [Decimal("0")]);
        assert_eq!(
            kinds("007").unwrap(),
            [Decimal("0"), Decimal("0"), Decimal("7")]
        );
        assert_eq!(kinds("12L 3l").unwrap(), [Decimal("12L"), Decimal("3l")]);
        assert_eq!(kinds("0L").unwrap(), [Decimal("0"), Id("L")]);
        assert_eq!(
            kinds("5. .5 5.5e3 5E-2 01.5").unwrap(),
            [
                Float("5."),
                Float(".5"),
                Float("5.5e3"),
                Float("5E-2"),
                Float("01.5")
            ]
        );
        assert_eq!(kinds("5e").unwrap(), [Decimal("5"), Id("e")]);
        assert_eq!(kinds("1.2.3").unwrap(), [Float("1.2"), Float(".3")]);
        assert!(kinds(". 5").is_err());
    }

    #[test]
    fn words_operators_and_strings() {
        use Kind::*;
        assert_eq!(
            kinds("nOt Notes $a_1 in").unwrap(),
            [Not, Id("Notes"), Id("$a_1"), In]
        );
        assert_eq!(
            kinds("<><=< >=> =(),+-").unwrap(),
            [Ne, Le, Lt, Ge, Gt, Eq, LParen, RParen, Comma, Plus, Minus]
        );
        assert_eq!(
            kinds("'it''s' ''").unwrap(),
            [Str(Cow::Borrowed("it's")), Str(Cow::Borrowed(""))]
        );
        assert!(kinds("'open").is_err());
        let err = kinds("'a''b").unwrap_err();
        assert_eq!(err.message, "unterminated string literal at character 4");
        assert_eq!(kinds("'a'''").unwrap(), [Str(Cow::Borrowed("a'"))]);
        assert_eq!(Lexer::new("'a''b''c").next_token().unwrap().end, 6);
        assert!(kinds("a != 1").is_err());
        assert!(kinds("a.b").is_err());
        assert!(kinds("é").is_err());
        assert_eq!(
            kinds("\u{212A}a\u{212A}").unwrap(),
            [Id("\u{212A}a\u{212A}")]
        );
    }

    #[test]
    fn comments_and_blanks() {
        use Kind::*;
        assert_eq!(kinds("a -- note\n b").unwrap(), [Id("a"), Id("b")]);
        assert_eq!(
            kinds("a -- note").unwrap(),
            [Id("a"), Minus, Minus, Id("note")]
        );
        assert_eq!(
            kinds("a /* x ** y */ b\t\r\x0c").unwrap(),
            [Id("a"), Id("b")]
        );
        assert!(kinds("a /* open").is_err());
        assert!(kinds("a /*/ b").is_err());
    }

    #[test]
    fn error_names_the_character_position() {
        let err = kinds("ab = #").unwrap_err();
        assert_eq!(err.message, "unexpected character '#' at character 6");
        let err = kinds("é = #").unwrap_err();
        assert!(err.message.contains("character 1"), "{err}");
    }
}
