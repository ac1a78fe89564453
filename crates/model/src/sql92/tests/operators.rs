//! Each operator with matching and non-matching messages, precedence, keyword case.

use super::{check, compile};

#[test]
fn equal_and_not_equal() {
    assert!(check("a = 'x'", &[("a", "x")]));
    assert!(!check("a = 'x'", &[("a", "y")]));
    assert!(check("a <> 'x'", &[("a", "y")]));
    assert!(!check("a <> 'x'", &[("a", "x")]));
    assert!(check("a = b", &[("a", "3.14"), ("b", "3.14")]));
    assert!(check("a <> b", &[("a", "3.14"), ("b", "3.141")]));
    assert!(check("TAGS = 'TagA'", &[("TAGS", "TagA")]));
}

#[test]
fn ordering_operators() {
    let three = [("a", "3")];
    assert!(check("a > 2", &three) && !check("a > 3", &three));
    assert!(check("a >= 3", &three) && !check("a >= 4", &three));
    assert!(check("a < 4", &three) && !check("a < 3", &three));
    assert!(check("a <= 3", &three) && !check("a <= 2", &three));
    assert!(check("a > b", &[("a", "20"), ("b", "10")]));
    assert!(!check("a > b", &[("a", "10"), ("b", "20")]));
}

#[test]
fn between_and_not_between() {
    for (value, inside) in [
        ("1", false),
        ("2", true),
        ("3", true),
        ("10", true),
        ("11", false),
    ] {
        let props = [("a", value)];
        assert_eq!(check("a BETWEEN 2 AND 10", &props), inside, "{value}");
        assert_eq!(check("a NOT BETWEEN 2 AND 10", &props), !inside, "{value}");
    }
    assert!(check("a between -5 and -1", &[("a", "-3")]));
}

#[test]
fn in_and_not_in() {
    for (value, listed) in [("3", true), ("4", true), ("5", true), ("8", false)] {
        let props = [("a", value)];
        assert_eq!(check("a IN ('3', '4', '5')", &props), listed, "{value}");
        assert_eq!(
            check("a NOT IN ('3', '4', '5')", &props),
            !listed,
            "{value}"
        );
    }
}

#[test]
fn is_null_and_is_not_null() {
    assert!(check("a IS NULL", &[("b", "1")]));
    assert!(!check("a IS NULL", &[("a", "")]));
    assert!(check("a IS NOT NULL", &[("a", "")]));
    assert!(!check("a IS NOT NULL", &[]));
}

#[test]
fn text_matches() {
    let axb = [("value", "axb")];
    assert!(check("value CONTAINS 'x'", &axb) && !check("value CONTAINS 'y'", &axb));
    assert!(check("value STARTSWITH 'ax'", &axb) && !check("value STARTSWITH 'x'", &axb));
    assert!(check("value ENDSWITH 'xb'", &axb) && !check("value ENDSWITH 'x'", &axb));
    assert!(check("value NOT CONTAINS 'y'", &axb) && !check("value NOT CONTAINS 'x'", &axb));
    assert!(check("value NOT STARTSWITH 'x'", &axb));
    assert!(!check("value NOT STARTSWITH 'ax'", &axb));
    assert!(check("value NOT ENDSWITH 'x'", &axb) && !check("value NOT ENDSWITH 'b'", &axb));
    assert!(check("'axb' CONTAINS 'x'", &[]));
    assert!(!check("'s' CONTAINS '.'", &[]));
}

#[test]
fn logic_operators() {
    let props = [("a", "1"), ("b", "2")];
    assert!(check("a = '1' AND b = '2'", &props));
    assert!(!check("a = '1' AND b = '3'", &props));
    assert!(check("a = '0' OR b = '2'", &props));
    assert!(!check("a = '0' OR b = '3'", &props));
    assert!(check("NOT (a = '0')", &props));
    assert!(!check("NOT (a = '1')", &props));
    assert!(check("TRUE", &[]) && !check("FALSE", &[]) && !check("NULL", &[]));
}

#[test]
fn or_is_looser_than_and() {
    let filter = "a = '1' OR b = '1' AND c = '1'";
    assert!(check(filter, &[("a", "1"), ("b", "0"), ("c", "0")]));
    assert!(!check(filter, &[("a", "0"), ("b", "1"), ("c", "0")]));
    let grouped = "(a = '1' OR b = '1') AND c = '1'";
    assert!(!check(grouped, &[("a", "1"), ("b", "0"), ("c", "0")]));
    assert!(check(grouped, &[("a", "0"), ("b", "1"), ("c", "1")]));
}

#[test]
fn not_binds_tighter_than_comparisons() {
    // `NOT a = 'x'` is `(NOT a) = 'x'`: a boolean against a string, never a match.
    assert_eq!(compile("NOT a = 'x'").to_string(), "NOT a = 'x'");
    assert_ne!(compile("NOT a = 'x'"), compile("NOT (a = 'x')"));
    for props in [&[("a", "y")][..], &[("a", "x")], &[]] {
        assert!(!check("NOT a = 'x'", props));
    }
    assert!(check("NOT (a = 'x')", &[("a", "y")]));
}

#[test]
fn equality_is_looser_than_ordering() {
    // `a > 1 = TRUE` is `(a > 1) = TRUE`.
    assert!(check("a > 1 = TRUE", &[("a", "2")]));
    assert!(!check("a > 1 = TRUE", &[("a", "0")]));
    assert!(check("a IS NULL = TRUE", &[]));
    assert_eq!(compile("(a > 1) = TRUE"), compile("a > 1 = TRUE"));
}

#[test]
fn keywords_in_any_case() {
    let filter = "a is not null aNd b Between 1 AND 3 oR c iN ('x') and NOT (d contains 'q')";
    assert!(check(filter, &[("a", "1"), ("b", "2")]));
    assert!(check("a = true", &[("a", "TRUE")]));
    assert_eq!(
        compile("a not in ('x') or b not between 1 and 2 or c not startswith 'y'").to_string(),
        "a NOT IN ('x') OR b NOT BETWEEN 1 AND 2 OR c NOT STARTSWITH 'y'"
    );
}

#[test]
fn string_escapes() {
    assert!(check("a = 'it''s'", &[("a", "it's")]));
    assert!(check(
        "TAGS IS NOT NULL AND TAGS = '''''tag'''''",
        &[("TAGS", "''tag''")]
    ));
    assert!(check("a = ''", &[("a", "")]));
    assert!(check("a = 'two\nlines'", &[("a", "two\nlines")]));
    assert_eq!(compile("a = 'it''s'").to_string(), "a = 'it''s'");
}

#[test]
fn comments_are_blanks() {
    assert!(check(
        "a = '1' -- first\n AND /* second */ b = '2'",
        &[("a", "1"), ("b", "2")]
    ));
}

#[test]
fn display_prints_canonical_text() {
    let cases = [
        (
            "a=3 and b<>4 And c>5 AND d<=4",
            "a = 3 AND b <> 4 AND c > 5 AND d <= 4",
        ),
        ("((a = 1))", "a = 1"),
        ("(a = 1 or b = 2) and not (c)", "(a = 1 OR b = 2) AND NOT c"),
        ("a > - -1.5e3", "a > - -1500.0"),
        ("+a > 1e300", "a > 1e300"),
        (
            "a = 3000000000 or b is not null",
            "a = 3000000000 OR b IS NOT NULL",
        ),
        ("not not TRUE", "NOT NOT TRUE"),
        ("(a or b) or c", "(a OR b) OR c"),
    ];
    for (text, printed) in cases {
        let expr = compile(text);
        assert_eq!(expr.to_string(), printed, "{text}");
        assert_eq!(compile(printed), expr, "{text}");
    }
}
