//! The compile-time checks RocketMQ makes while it builds the tree, and its literal
//! conversions. Each returns the reason as a sentence; the parser adds the position.

use std::cmp::Ordering;

use super::compare::{Value, java_compare};
use super::expr::{Lit, Node};

/// `SelectorParser.asBooleanExpression`: boolean nodes pass, a bare property is cast, and
/// anything else (a number, a string, a negation) is refused.
pub(crate) fn as_boolean(node: Node) -> Result<Node, String> {
    if node.is_boolean() {
        return Ok(node);
    }
    match node {
        Node::Prop(_) => Ok(Node::BoolCast(Box::new(node))),
        _ => Err("this expression does not result in a boolean value".to_owned()),
    }
}

/// `ComparisonExpression.checkEqualOperand` and `checkEqualOperandCompatability` for `=`
/// and `<>`: no NULL literal on either side, and not a TRUE/FALSE literal against another
/// kind of literal.
pub(crate) fn check_equal(left: &Node, right: &Node) -> Result<(), String> {
    for side in [left, right] {
        if *side == Node::Lit(Lit::Null) {
            return Err("NULL cannot be compared with '=' or '<>'; use IS NULL".to_owned());
        }
    }
    if let (Node::Lit(Lit::Bool(_)), Node::Lit(other)) = (left, right)
        && !matches!(other, Lit::Bool(_))
    {
        return Err("a TRUE/FALSE literal cannot be compared with another literal".to_owned());
    }
    Ok(())
}

/// `ComparisonExpression.checkLessThanOperand` for `>`, `>=`, `<`, `<=` and BETWEEN: a
/// literal must be a number, and a boolean expression is refused.
pub(crate) fn check_ordered(node: &Node) -> Result<(), String> {
    match node {
        Node::Lit(lit) if !lit.is_number() => {
            Err("only numbers can be compared with '>', '>=', '<', '<=' or BETWEEN".to_owned())
        }
        _ if node.is_boolean() => Err(
            "a boolean expression cannot be compared with '>', '>=', '<', '<=' or BETWEEN"
                .to_owned(),
        ),
        _ => Ok(()),
    }
}

/// `ComparisonExpression.createBetween`: with two literal bounds, the low one must not be
/// above the high one. (Negated bounds such as `-5` are not literals and are not checked.)
pub(crate) fn check_between(value: &Node, low: &Node, high: &Node) -> Result<(), String> {
    for side in [value, low, high] {
        check_ordered(side)?;
    }
    if let (Node::Lit(l), Node::Lit(h)) = (low, high)
        && java_compare(lit_value(h), lit_value(l)) == Ok(Ordering::Less)
    {
        return Err("the low value of BETWEEN is above its high value".to_owned());
    }
    Ok(())
}

fn lit_value(lit: &Lit) -> Value<'_> {
    match lit {
        Lit::Null => Value::Null,
        Lit::Bool(b) => Value::Bool(*b),
        Lit::Int(i) => Value::Int(*i),
        Lit::Long(l) => Value::Long(*l),
        Lit::Double(d) => Value::Double(*d),
        Lit::Str(s) => Value::Str(s),
    }
}

/// `ComparisonExpression.createInFilter`: IN applies to a property only; its name.
pub(crate) fn in_target(node: Node) -> Result<String, String> {
    match node {
        Node::Prop(name) => Ok(name),
        _ => Err("IN applies to a property name only".to_owned()),
    }
}

/// `ConstantExpression.createFromDecimal`: an `int` when it fits, else a `long`; beyond
/// `long` is an error. The optional `l`/`L` suffix changes nothing.
pub(crate) fn decimal_literal(text: &str) -> Result<Lit, String> {
    let digits = text.trim_end_matches(['l', 'L']);
    let value: i64 = digits
        .parse()
        .map_err(|_| format!("the number {digits} is beyond the range of a 64-bit integer"))?;
    Ok(i32::try_from(value).map_or(Lit::Long(value), Lit::Int))
}

/// `ConstantExpression.createFloat`: a double that is neither infinite nor zero (RocketMQ
/// compares against `Double.MIN_VALUE`, the smallest positive double, so `0.0` is refused).
pub(crate) fn float_literal(text: &str) -> Result<Lit, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text} is not a floating-point number"))?;
    if value.is_infinite() {
        return Err(format!("{text} is beyond the range of a double"));
    }
    if value == 0.0 {
        return Err(format!(
            "{text} is below the smallest positive double (RocketMQ refuses zero)"
        ));
    }
    Ok(Lit::Double(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_convert_like_java() {
        assert_eq!(decimal_literal("7"), Ok(Lit::Int(7)));
        assert_eq!(decimal_literal("7L"), Ok(Lit::Int(7)));
        assert_eq!(decimal_literal("2147483647"), Ok(Lit::Int(i32::MAX)));
        assert_eq!(decimal_literal("2147483648"), Ok(Lit::Long(2_147_483_648)));
        assert_eq!(
            decimal_literal("9223372036854775807"),
            Ok(Lit::Long(i64::MAX))
        );
        assert!(decimal_literal("9223372036854775808").is_err());
        assert_eq!(float_literal("1.5e3"), Ok(Lit::Double(1500.0)));
        assert!(float_literal("0.0").is_err());
        assert!(float_literal("1e-400").is_err());
        assert!(float_literal("1e400").is_err());
    }
}
