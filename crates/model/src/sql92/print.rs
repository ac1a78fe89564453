//! Prints a compiled filter back as filter text that compiles to the same tree.
//!
//! Keywords are upper case, parentheses appear only where the grammar needs them, `<>`,
//! `IS NOT NULL`, `NOT BETWEEN`, `NOT IN` and `NOT CONTAINS` keep their forms, and implicit
//! boolean casts are not shown.

use std::fmt::{self, Write};

use super::expr::{Lit, Node};

/// Grammar level of a node; an operand below the level its position asks for gets
/// parentheses.
fn level(node: &Node) -> u8 {
    match node {
        Node::Or(_) => 1,
        Node::And(_) => 2,
        Node::Eq { .. } | Node::IsNull { .. } => 3,
        Node::Cmp { .. } | Node::Between { .. } | Node::In { .. } | Node::Text { .. } => 4,
        Node::Not(_) | Node::Neg(_) => 5,
        Node::BoolCast(inner) => level(inner),
        Node::Lit(_) | Node::Prop(_) => 6,
    }
}

const fn not(negated: bool) -> &'static str {
    if negated { "NOT " } else { "" }
}

fn string(out: &mut dyn Write, value: &str) -> fmt::Result {
    out.write_char('\'')?;
    for part in value.split_inclusive('\'') {
        out.write_str(part)?;
        if part.ends_with('\'') {
            out.write_char('\'')?;
        }
    }
    out.write_char('\'')
}

fn literal(out: &mut dyn Write, lit: &Lit) -> fmt::Result {
    match lit {
        Lit::Null => out.write_str("NULL"),
        Lit::Bool(true) => out.write_str("TRUE"),
        Lit::Bool(false) => out.write_str("FALSE"),
        Lit::Int(i) => write!(out, "{i}"),
        Lit::Long(l) => write!(out, "{l}"),
        // `{:?}` is the shortest text that reads back to the same double, always with a `.`
        // or an exponent, which the lexer reads as a float.
        Lit::Double(d) => write!(out, "{d:?}"),
        Lit::Str(s) => string(out, s),
    }
}

fn list(out: &mut dyn Write, items: &[Node], separator: &str, min: u8) -> fmt::Result {
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.write_str(separator)?;
        }
        write_at(out, item, min)?;
    }
    Ok(())
}

/// Writes `node` where the grammar accepts level `min` or above.
pub(crate) fn write_at(out: &mut dyn Write, node: &Node, min: u8) -> fmt::Result {
    if level(node) < min {
        out.write_char('(')?;
        write_at(out, node, 1)?;
        return out.write_char(')');
    }
    match node {
        Node::Lit(lit) => literal(out, lit),
        Node::Prop(name) => out.write_str(name),
        Node::BoolCast(inner) => write_at(out, inner, min),
        Node::Neg(inner) => {
            // `--` would start a comment.
            let space = if matches!(**inner, Node::Neg(_)) {
                " "
            } else {
                ""
            };
            write!(out, "-{space}")?;
            write_at(out, inner, 5)
        }
        Node::Not(inner) => {
            out.write_str("NOT ")?;
            write_at(out, inner, 5)
        }
        Node::Or(items) => list(out, items, " OR ", 2),
        Node::And(items) => list(out, items, " AND ", 3),
        Node::Eq {
            left,
            right,
            negated,
        } => {
            write_at(out, left, 3)?;
            out.write_str(if *negated { " <> " } else { " = " })?;
            write_at(out, right, 4)
        }
        Node::IsNull { operand, negated } => {
            write_at(out, operand, 3)?;
            write!(out, " IS {}NULL", not(*negated))
        }
        Node::Cmp { op, left, right } => {
            write_at(out, left, 4)?;
            write!(out, " {} ", op.symbol())?;
            write_at(out, right, 5)
        }
        _ => write_match(out, node),
    }
}

/// BETWEEN, IN and the text matches.
fn write_match(out: &mut dyn Write, node: &Node) -> fmt::Result {
    match node {
        Node::Between {
            value,
            low,
            high,
            negated,
        } => {
            write_at(out, value, 4)?;
            write!(out, " {}BETWEEN ", not(*negated))?;
            write_at(out, low, 5)?;
            out.write_str(" AND ")?;
            write_at(out, high, 5)
        }
        Node::In {
            prop,
            list,
            negated,
        } => {
            write!(out, "{prop} {}IN (", not(*negated))?;
            for (index, item) in list.iter().enumerate() {
                if index > 0 {
                    out.write_str(", ")?;
                }
                string(out, item)?;
            }
            out.write_char(')')
        }
        Node::Text {
            op,
            value,
            needle,
            negated,
        } => {
            write_at(out, value, 4)?;
            write!(out, " {}{} ", not(*negated), op.keyword())?;
            string(out, needle)
        }
        _ => write_at(out, node, 1),
    }
}
