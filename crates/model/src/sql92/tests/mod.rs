//! Tests of the public API, grouped by subject.

mod errors;
mod null_rules;
mod operators;
mod properties;
mod values;

use super::Expression;

/// Compiles `filter` (panicking with the error if it does not compile).
fn compile(filter: &str) -> Expression {
    Expression::compile(filter).unwrap_or_else(|err| panic!("{filter:?}: {err}"))
}

/// Whether `filter` matches a message with these properties.
fn check(filter: &str, props: &[(&str, &str)]) -> bool {
    let lookup = |name: &str| props.iter().find(|(key, _)| *key == name).map(|(_, v)| *v);
    compile(filter).matches(&lookup)
}

/// The compile error's message for `filter`.
fn error(filter: &str) -> String {
    match Expression::compile(filter) {
        Ok(expr) => panic!("{filter:?} compiled to {expr}"),
        Err(err) => err.message,
    }
}
