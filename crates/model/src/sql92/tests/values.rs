//! How string properties meet number and boolean literals, and what a failed conversion does.

use super::check;

#[test]
fn a_property_is_converted_to_the_literal_type() {
    let three = [("a", "3")];
    assert!(check("a > 2", &three));
    assert!(check("a = 3", &three));
    assert!(check("a = 3.0", &three));
    assert!(check("3 = a", &three));
    assert!(check("a = 3L", &three));
    assert!(!check("a < 2.5", &three));
    assert!(check("a = '3'", &three));
    assert!(!check("a = '3.0'", &three));
}

#[test]
fn an_int_literal_parses_the_property_as_an_int() {
    // `Integer.valueOf("3.5")` throws: the filter does not match at all.
    assert!(!check("a > 3", &[("a", "3.5")]));
    assert!(!check("a < 4", &[("a", "3.5")]));
    assert!(check("a > 3.0", &[("a", "3.5")]));
    // Beyond `int`: only a `long` literal reads it.
    assert!(check("a = 3000000000", &[("a", "3000000000")]));
    assert!(!check("a > 3", &[("a", "3000000000")]));
    // `Integer.valueOf` does not trim; `Double.valueOf` does.
    assert!(!check("a = 3", &[("a", " 3 ")]));
    assert!(check("a = 3.0", &[("a", " 3 ")]));
    assert!(check("a = 1.5", &[("a", "1.5f")]));
}

#[test]
fn signs_and_negative_numbers() {
    assert!(check("a > -1", &[("a", "0")]));
    assert!(check("a = -5", &[("a", "-5")]));
    assert!(check("a = +5", &[("a", "+5")]));
    assert!(check("a < -2.5", &[("a", "-3")]));
    assert!(!check("-a > 1", &[("a", "5")])); // negating a string gives NULL
}

#[test]
fn two_properties_compare_as_doubles() {
    // As numbers, not as text ('10' < '9' as text).
    assert!(check("a > b", &[("a", "10"), ("b", "9")]));
    assert!(check("a >= b", &[("a", "1e1"), ("b", "10")]));
    assert!(!check("a > b", &[("a", "x"), ("b", "1")]));
    assert!(!check("a < b", &[("a", "x"), ("b", "1")]));
    assert!(check("a > 1.5", &[("a", "NaN")])); // Java orders NaN above every number
    // `=` between two strings is plain string equality.
    assert!(!check("a = b", &[("a", "1"), ("b", "1.0")]));
}

#[test]
fn booleans() {
    assert!(check("a = TRUE", &[("a", "true")]));
    assert!(check("a = TRUE", &[("a", "TRUE")]));
    assert!(!check("a = TRUE", &[("a", "yes")]));
    // `Boolean.valueOf` reads anything but "true" as false.
    assert!(check("a = FALSE", &[("a", "yes")]));
    assert!(check("'x' = FALSE", &[]));
    // Boolean on the left of a string: Java's ClassCastException, never a match.
    assert!(!check("TRUE = a", &[("a", "true")]));
    assert!(!check("TRUE <> a", &[("a", "false")]));
    // A number against a boolean compares as "less": unequal.
    assert!(check("1 <> TRUE", &[]));
    assert!(!check("1 = TRUE", &[]));
    assert!(check("TRUE = TRUE AND FALSE <> TRUE", &[]));
}

#[test]
fn a_bare_property_is_never_true() {
    // Properties are strings, and a string is not a Boolean.
    for value in ["true", "TRUE", "1", ""] {
        assert!(!check("a", &[("a", value)]), "{value}");
        assert!(check("NOT a", &[("a", value)]), "{value}");
    }
    assert!(!check("NOT a", &[]));
}

#[test]
fn a_failed_conversion_fails_the_whole_filter() {
    let props = [("a", "x"), ("b", "oops")];
    assert!(check("a = 'x' OR b > 1", &props)); // short-circuit: b is never read
    assert!(!check("b > 1 OR a = 'x'", &props));
    assert!(!check("NOT (b > 1)", &props));
    assert!(!check("b = 1 OR TRUE", &props));
    assert!(check("a = 'y' AND b > 1 OR TRUE", &props));
}

#[test]
fn empty_needles_never_match() {
    let props = [("value", "axb")];
    for op in ["CONTAINS", "STARTSWITH", "ENDSWITH"] {
        assert!(!check(&format!("value {op} ''"), &props), "{op}");
        assert!(!check(&format!("value NOT {op} ''"), &props), "{op}");
    }
    assert!(!check("1 CONTAINS '1'", &[])); // not a string
}
