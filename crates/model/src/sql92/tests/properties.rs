//! `properties()`, and property tests: no input panics; printing and compiling again gives
//! the same expression, which decides every message the same way.

use proptest::prelude::*;

use super::super::Expression;
use super::compile;

#[test]
fn properties_lists_each_name_once_in_order() {
    let expr = compile("a = 'x' AND (b > 1 OR a IN ('y')) AND TAGS IS NOT NULL AND 'k' = c");
    assert_eq!(expr.properties(), ["a", "b", "TAGS", "c"]);
    assert!(compile("TRUE").properties().is_empty());
    assert_eq!(
        compile("x BETWEEN lo AND hi").properties(),
        ["x", "lo", "hi"]
    );
}

/// The property values the property tests try.
const VALUES: [Option<&str>; 6] = [
    None,
    Some("1"),
    Some("2.5"),
    Some("x"),
    Some("true"),
    Some(""),
];

fn decisions(expr: &Expression) -> Vec<bool> {
    let mut out = Vec::new();
    for a in VALUES {
        for b in VALUES {
            let lookup = |name: &str| match name {
                "a" => a,
                "b" => b,
                _ => None,
            };
            out.push(expr.matches(&lookup));
        }
    }
    out
}

/// Compiles `text`; when it compiles, checks the print / compile round trip.
fn round_trip(text: &str) -> Result<(), TestCaseError> {
    let Ok(expr) = Expression::compile(text) else {
        return Ok(());
    };
    let printed = expr.to_string();
    let again = Expression::compile(&printed)
        .map_err(|err| TestCaseError::fail(format!("{printed:?} from {text:?}: {err}")))?;
    prop_assert_eq!(&again, &expr, "printed as {:?}", printed);
    prop_assert_eq!(again.to_string(), printed);
    prop_assert_eq!(decisions(&again), decisions(&expr));
    Ok(())
}

const TOKENS: &[&str] = &[
    "a",
    "b",
    "TAGS",
    "NOT",
    "AND",
    "OR",
    "BETWEEN",
    "IN",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "CONTAINS",
    "STARTSWITH",
    "ENDSWITH",
    "=",
    "<>",
    ">",
    ">=",
    "<",
    "<=",
    "(",
    ")",
    ",",
    "+",
    "-",
    "'x'",
    "'it''s'",
    "''",
    "1",
    "0",
    "2.5",
    ".5",
    "1e3",
    "3000000000",
    "7L",
    "--c\n",
    "/**/",
    "#",
    "'",
];

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TOKENS), 1..24).prop_map(|tokens| tokens.join(" "))
}

const LEAVES: &[&str] = &[
    "a = 'x'",
    "a <> 1",
    "b > 2",
    "b >= 2.5",
    "a < -1",
    "b <= 3000000000",
    "a IS NULL",
    "b IS NOT NULL",
    "a IN ('x', '1')",
    "b NOT IN ('')",
    "a BETWEEN 1 AND 2",
    "b NOT BETWEEN -2 AND 1e3",
    "a CONTAINS 'x'",
    "b NOT STARTSWITH 't'",
    "a ENDSWITH ''",
    "a",
    "TRUE",
    "NULL",
    "a = b",
    "'x' <> a",
    "a = TRUE",
    "b > a",
];

fn leaf() -> impl Strategy<Value = String> {
    prop::sample::select(LEAVES).prop_map(str::to_owned)
}

fn nested() -> impl Strategy<Value = String> {
    leaf().prop_recursive(5, 48, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| format!("{l} AND {r}")),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| format!("{l} OR {r}")),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| format!("({l}) AND ({r})")),
            inner.clone().prop_map(|e| format!("NOT ({e})")),
            inner.prop_map(|e| format!("({e}) IS NOT NULL")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
        round_trip(&text)?;
    }

    #[test]
    fn token_soup_round_trips(text in token_soup()) {
        round_trip(&text)?;
    }

    #[test]
    fn valid_filters_compile_and_round_trip(text in nested()) {
        prop_assert!(Expression::compile(&text).is_ok(), "{:?}", text);
        round_trip(&text)?;
    }
}
