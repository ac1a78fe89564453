//! RocketMQ's SQL92 message filter (`MessageSelector.bySql`), compiled once and evaluated
//! per message.
//!
//! The language and its oddities are RocketMQ's (`org.apache.rocketmq.filter`:
//! `SelectorParser.jj`, `ComparisonExpression`, `LogicExpression`, `UnaryExpression`,
//! `ConstantExpression`), summarised in `docs/protocol-notes.md` under "SQL92 filter
//! expressions". In short:
//!
//! - `a = 'x'`, `a <> 'x'`, `a > 3`, `a >= 3.5`, `a < -1`, `a <= 1`, `a BETWEEN 1 AND 5`,
//!   `a IN ('x', 'y')`, `a IS NULL`, `a CONTAINS 'x'`, `a STARTSWITH 'x'`, `a ENDSWITH 'x'`,
//!   the `NOT` forms of the last five and of `IS NULL`, `AND`, `OR`, `NOT`, parentheses;
//!   keywords in any case; strings in single quotes with `''` for a quote.
//! - NOT binds tighter than any comparison: write `NOT (a = 'x')`, not `NOT a = 'x'`.
//! - Properties are strings; against a number literal they are parsed as that number's Java
//!   type (`a > 2` parses `a` as an `int`, so `a = '2.5'` cannot be compared with `2`: use
//!   `2.0`). `>`/`<` between two properties parse both as doubles.
//! - Three-valued logic: a missing property is NULL; only TRUE matches. A failed conversion
//!   (a Java exception in RocketMQ) makes the whole filter not match.
//! - Like RocketMQ, text after a complete expression is ignored (`a = 1 )` compiles).
//!
//! Hostile text is refused, never recursed into without bound: at most
//! [`MAX_TEXT_BYTES`] bytes, [`MAX_NESTING`] levels of parentheses and prefix operators,
//! [`MAX_IN_ITEMS`] strings per IN list, and a tree at most [`MAX_TREE_HEIGHT`] high.

mod checks;
mod compare;
mod eval;
mod expr;
mod lexer;
mod parser;
mod print;

#[cfg(test)]
mod tests;

use std::fmt;

/// Longest filter text accepted, in bytes (RocketMQ itself has no limit).
pub const MAX_TEXT_BYTES: usize = 4096;
/// Deepest nesting of parentheses and prefix operators (`NOT`, `-`, `+`).
pub const MAX_NESTING: usize = 64;
/// Most strings in one IN list.
pub const MAX_IN_ITEMS: usize = 1000;
/// Highest compiled tree, which also bounds chains such as `a = b = c = …`.
pub const MAX_TREE_HEIGHT: usize = 256;

/// Why a filter text does not compile: a sentence naming the position or token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid SQL92 filter: {message}")]
pub struct SqlError {
    pub message: String,
}

impl SqlError {
    pub(crate) fn new(message: String) -> Self {
        SqlError { message }
    }
}

/// A compiled SQL92 filter. [`Display`](fmt::Display) prints it back as filter text that
/// compiles to an equal expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    root: expr::Node,
}

impl Expression {
    /// Compiles RocketMQ SQL92 filter text, making the checks RocketMQ makes at compile time
    /// (boolean result, no NULL in `=`, numbers only in `>`/BETWEEN, ordered BETWEEN literal
    /// bounds, IN on a property, literals in range) plus Apogee's size limits.
    pub fn compile(text: &str) -> Result<Expression, SqlError> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(SqlError::new(format!(
                "the filter is {} bytes long; the limit is {MAX_TEXT_BYTES}",
                text.len()
            )));
        }
        parser::parse(text).map(|root| Expression { root })
    }

    /// Evaluates the filter against one message. `lookup(name)` returns the property's value
    /// (user properties and system ones such as `TAGS`), `None` when the message has none.
    /// Only a TRUE result matches; NULL (unknown) and failed conversions do not.
    pub fn matches<'v>(&self, lookup: &dyn Fn(&str) -> Option<&'v str>) -> bool {
        eval::matches(&self.root, lookup)
    }

    /// The names of the properties the filter reads, each once, in order of appearance.
    pub fn properties(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.root.collect_properties(&mut names);
        names
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        print::write_at(f, &self.root, 1)
    }
}
