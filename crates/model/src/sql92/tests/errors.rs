//! What does not compile, with which message; and the limits on hostile text.

use super::super::{MAX_IN_ITEMS, MAX_NESTING, MAX_TEXT_BYTES};
use super::{check, compile, error};

#[test]
fn empty_text() {
    for text in ["", "   \n\t", "/* nothing */", "-- nothing\n"] {
        assert_eq!(error(text), "the filter is empty", "{text:?}");
    }
}

#[test]
fn unbalanced_parentheses() {
    assert!(error("(a = 1").contains("expected ')'"));
    assert!(error("((a = 1)").contains("the end of the filter"));
    assert!(error("()").contains("unexpected ')'"));
    // Like RocketMQ, text after a complete expression is not read: a stray ')' passes.
    assert_eq!(compile("a = 1) AND b = 2"), compile("a = 1"));
}

#[test]
fn trailing_text_is_ignored_like_rocketmq() {
    assert_eq!(compile("a = 'x' b = 'y'"), compile("a = 'x'"));
    assert_eq!(compile("a LIKE 'x%'"), compile("a"));
    assert_eq!(compile("a = 1 ) #"), compile("a = 1"));
    // …but the token right after is lexed, and NOT/IS there must continue the expression.
    assert!(error("a = 1 #").contains("unexpected character '#'"));
    assert!(error("a = 1 NOT x").contains("after NOT"));
    assert!(error("a IS 5").contains("NULL after IS"));
}

#[test]
fn incomplete_expressions() {
    assert_eq!(
        error("a >"),
        "unexpected the end of the filter at character 4; expected a value, a property name, NOT, a sign or '('"
    );
    assert!(error("a = = 1").contains("unexpected '=' at character 5"));
    assert!(error("a BETWEEN 1").contains("AND between the bounds"));
    assert!(error("a IN ()").contains("a string literal"));
    assert!(error("a IN (1)").contains("a string literal"));
    assert!(error("a IN ('x' 'y')").contains("',' or ')'"));
    assert!(error("a CONTAINS 1").contains("a string literal after CONTAINS"));
    assert!(error("a AND").contains("the end of the filter"));
}

#[test]
fn unknown_tokens() {
    assert!(error("a != 1").contains("unexpected character '!' at character 3"));
    assert!(error("a = 1 && b = 2").contains("'&'"));
    assert!(error("a.b = 1").contains("'.'"));
    assert!(error("a = 'open").contains("unterminated string literal at character 5"));
    assert!(error("a = 1 /* open").contains("unterminated comment"));
    assert!(error("ä = 1").contains("'ä' at character 1"));
}

#[test]
fn rocketmq_compile_checks() {
    assert!(error("1").contains("boolean"));
    assert!(error("'x'").contains("boolean"));
    assert!(error("-a").contains("boolean"));
    assert!(error("NOT 1").contains("boolean"));
    assert!(error("a AND 1").contains("boolean"));
    assert!(error("a = NULL").contains("IS NULL"));
    assert!(error("NULL <> a").contains("IS NULL"));
    assert!(error("TRUE = 1").contains("TRUE/FALSE"));
    assert!(error("a > 'x'").contains("only numbers"));
    assert!(error("a > TRUE").contains("only numbers"));
    assert!(error("a > 1 > 2").contains("boolean expression"));
    assert!(error("a BETWEEN 5 AND 1").contains("above its high value"));
    assert!(error("a BETWEEN 'a' AND 'b'").contains("only numbers"));
    assert!(error("'x' IN ('x')").contains("property"));
    assert!(error("NOT a IN ('x')").contains("property"));
    assert!(error("a = 9223372036854775808").contains("64-bit"));
    assert!(error("a > 0.0").contains("zero"));
    assert!(error("a > 1e400").contains("range of a double"));
    // Negated bounds are not literals: RocketMQ does not check their order.
    assert!(!check("a BETWEEN -1 AND -5", &[("a", "-3")]));
    assert!(check("a BETWEEN 1 AND 1.0", &[("a", "1")]));
}

#[test]
fn text_too_long() {
    let padding = " ".repeat(MAX_TEXT_BYTES - 7);
    assert!(Expression::compile(&format!("a = 'x'{padding}")).is_ok());
    let message = error(&format!("a = 'x'{padding} "));
    assert_eq!(
        message,
        format!(
            "the filter is {} bytes long; the limit is {MAX_TEXT_BYTES}",
            MAX_TEXT_BYTES + 1
        )
    );
}

#[test]
fn nesting_too_deep() {
    let nested = |depth: usize| format!("{}a = 1{}", "(".repeat(depth), ")".repeat(depth));
    assert!(Expression::compile(&nested(MAX_NESTING)).is_ok());
    assert!(error(&nested(MAX_NESTING + 1)).contains("nest deeper than 64"));
    let nots = |depth: usize| format!("{}TRUE", "NOT ".repeat(depth));
    assert!(Expression::compile(&nots(MAX_NESTING)).is_ok());
    assert!(error(&nots(MAX_NESTING + 1)).contains("nest deeper than 64"));
    assert!(error(&format!("a > {}1", "- ".repeat(MAX_NESTING + 1))).contains("nest deeper"));
    // Far beyond the limit: refused without exhausting the stack.
    assert!(error(&"(".repeat(MAX_TEXT_BYTES)).contains("nest deeper"));
    assert!(error(&"NOT ".repeat(1000)).contains("nest deeper"));
}

#[test]
fn chains_too_tall() {
    let chain = format!("a{}", " IS NULL".repeat(300));
    assert!(error(&chain).contains("deeper than 256 levels"));
    let eq_chain = format!("a{}", " = b".repeat(300));
    assert!(error(&eq_chain).contains("deeper than 256 levels"));
    // The tallest allowed chain evaluates and prints back.
    let tallest = compile(&format!("a{}", " IS NULL".repeat(250)));
    assert!(!tallest.matches(&|_| None));
    assert_eq!(compile(&tallest.to_string()), tallest);
    // As deep as allowed, with AND and OR at every level.
    let mut deep = "a = '1'".to_owned();
    for _ in 0..MAX_NESTING {
        deep = format!("b = '2' AND ({deep}) OR c IS NULL");
    }
    let deep = compile(&deep);
    let message = |a: &'static str| {
        move |name: &str| match name {
            "a" => Some(a),
            "b" => Some("2"),
            _ => Some("x"),
        }
    };
    assert!(deep.matches(&message("1")));
    assert!(!deep.matches(&message("0")));
    assert_eq!(compile(&deep.to_string()), deep);
    // A long flat OR is fine.
    let flat = vec!["a = '1'"; 300].join(" OR ");
    assert!(check(&flat, &[("a", "1")]));
}

#[test]
fn in_lists_are_capped() {
    let list = |count: usize| {
        let items = vec!["'1'"; count];
        format!("a IN ({})", items.join(","))
    };
    assert!(check(&list(MAX_IN_ITEMS), &[("a", "1")]));
    assert!(error(&list(MAX_IN_ITEMS + 1)).contains("at most 1000 strings"));
}

use super::super::Expression;
