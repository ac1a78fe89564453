//! Three-valued logic: a missing property is NULL (unknown), and only TRUE matches.

use super::check;

#[test]
fn comparisons_with_a_missing_property_are_unknown() {
    for filter in [
        "a = 'x'",
        "a <> 'x'",
        "a > 1",
        "a <= 1",
        "a BETWEEN 1 AND 2",
        "a NOT BETWEEN 1 AND 2",
        "a IN ('x')",
        "a NOT IN ('x')",
        "NOT (a = 'x')",
        "NOT (a <> 'x')",
        "NOT (a > 1)",
        "NOT (a IN ('x'))",
    ] {
        assert!(!check(filter, &[]), "{filter}");
    }
}

#[test]
fn unknown_in_and_or_not() {
    let b = [("b", "y")];
    // NULL OR TRUE = TRUE, NULL OR FALSE = NULL.
    assert!(check("a = 'x' OR b = 'y'", &b));
    assert!(!check("NOT (a = 'x' OR b = 'z')", &b));
    // NULL AND FALSE = FALSE, NULL AND TRUE = NULL.
    assert!(check("NOT (a = 'x' AND b = 'z')", &b));
    assert!(!check("NOT (a = 'x' AND b = 'y')", &b));
    // NOT NULL = NULL.
    assert!(!check("NOT NULL", &[]));
    assert!(check("NULL IS NULL", &[]));
    assert!(check("NULL OR TRUE", &[]) && !check("NULL OR FALSE", &[]));
    assert!(check("NOT (NULL AND FALSE)", &[]));
}

#[test]
fn text_matches_treat_a_missing_property_as_false() {
    // FALSE, not unknown: the NOT outside flips it.
    assert!(!check("a CONTAINS 'x'", &[]));
    assert!(!check("a NOT CONTAINS 'x'", &[]));
    assert!(check("NOT (a CONTAINS 'x')", &[]));
    assert!(check(
        "NOT (a STARTSWITH 'x') AND NOT (a ENDSWITH 'x')",
        &[]
    ));
}

#[test]
fn equality_with_null_is_lopsided() {
    // Java's `doCreateEqual`: null on the left is unknown, null on the right is FALSE.
    assert!(!check("a <> 'x'", &[]));
    assert!(check("'x' <> a", &[]));
    assert!(!check("'x' = a", &[]));
    // Two missing properties are equal.
    assert!(check("a = b", &[]));
    assert!(!check("a <> b", &[]));
    assert!(!check("a = b", &[("a", "1")]));
}
