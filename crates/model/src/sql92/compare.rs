//! Java's value comparison as RocketMQ's `ComparisonExpression.__compare` does it (with
//! `convertStringExpressions` on, which `SelectorParser.parse` always sets), and the Java
//! string-to-number parsers it relies on.
//!
//! Mixed kinds are converted towards the other side: an `int` literal against a string
//! property parses the property with `Integer.valueOf`, a `long` with `Long.valueOf`, a
//! double with `Double.valueOf`, a boolean with `Boolean.valueOf`. A parse failure is a Java
//! exception: it aborts the whole evaluation ([`Abort`]). Kinds with no conversion (a number
//! against a boolean) compare as "less" (`__compare` answers -1).

use std::cmp::Ordering;

/// A Java exception during evaluation: RocketMQ's `ExpressionMessageFilter` catches it and
/// the message does not match, whatever the rest of the expression says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Abort;

/// A run-time value: a literal, a property (always a string) or a sub-expression's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(&'a str),
}

/// `Integer.valueOf(String)`: optional sign, decimal digits, within `int` (ASCII digits only;
/// Java also takes other Unicode decimal digits).
pub(crate) fn java_int(text: &str) -> Result<i32, Abort> {
    text.parse().map_err(|_| Abort)
}

/// `Long.valueOf(String)`, like [`java_int`] for `long`.
pub(crate) fn java_long(text: &str) -> Result<i64, Abort> {
    text.parse().map_err(|_| Abort)
}

/// `Boolean.valueOf(String)`: true only for "true" in any case.
pub(crate) fn java_bool(text: &str) -> bool {
    text.eq_ignore_ascii_case("true")
}

/// `Double.valueOf(String)`: trims characters up to U+0020, takes a sign, `NaN`,
/// `Infinity`, or a decimal with optional exponent and one optional `f`/`F`/`d`/`D` suffix.
/// Java's hexadecimal form (`0x1p3`) is refused here.
pub(crate) fn java_double(text: &str) -> Result<f64, Abort> {
    let trimmed = text.trim_matches(|c: char| c <= ' ');
    let (negative, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let magnitude = match unsigned {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => decimal_magnitude(unsigned)?,
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// An unsigned Java decimal floating-point string, suffix allowed.
fn decimal_magnitude(text: &str) -> Result<f64, Abort> {
    let body = text
        .strip_suffix(['f', 'F', 'd', 'D'])
        .unwrap_or(text)
        .as_bytes();
    let int_end = count_digits(body, 0);
    let mut at = int_end;
    let mut digits = int_end;
    if body.get(at) == Some(&b'.') {
        let frac_end = count_digits(body, at + 1);
        digits += frac_end - (at + 1);
        at = frac_end;
    }
    if digits == 0 {
        return Err(Abort);
    }
    if matches!(body.get(at), Some(b'e' | b'E')) {
        let mut exp = at + 1;
        if matches!(body.get(exp), Some(b'+' | b'-')) {
            exp += 1;
        }
        let exp_end = count_digits(body, exp);
        if exp_end == exp {
            return Err(Abort);
        }
        at = exp_end;
    }
    if at != body.len() {
        return Err(Abort);
    }
    std::str::from_utf8(body)
        .ok()
        .and_then(|checked| checked.parse().ok())
        .ok_or(Abort)
}

fn count_digits(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_digit) {
        at += 1;
    }
    at
}

/// `Double.compare`: numeric order, then -0.0 below 0.0, and NaN above everything and equal
/// to itself.
pub(crate) fn java_double_cmp(left: f64, right: f64) -> Ordering {
    if left < right {
        return Ordering::Less;
    }
    if left > right {
        return Ordering::Greater;
    }
    let bits = |value: f64| {
        if value.is_nan() {
            0x7ff8_0000_0000_0000_i64
        } else {
            value.to_bits() as i64
        }
    };
    bits(left).cmp(&bits(right))
}

/// `String.compareTo`: UTF-16 code units in order.
fn java_str_cmp(left: &str, right: &str) -> Ordering {
    left.encode_utf16().cmp(right.encode_utf16())
}

/// `__compare(left, right, true)`: the order of two non-null values.
pub(crate) fn java_compare(left: Value<'_>, right: Value<'_>) -> Result<Ordering, Abort> {
    use Value::*;
    let order = match (left, right) {
        (Null, _) | (_, Null) => return Err(Abort),
        (Str(l), Str(r)) => java_str_cmp(l, r),
        (Bool(l), Bool(r)) => l.cmp(&r),
        (Int(l), Int(r)) => l.cmp(&r),
        (Long(l), Long(r)) => l.cmp(&r),
        (Double(l), Double(r)) => java_double_cmp(l, r),
        (Int(l), Long(r)) => i64::from(l).cmp(&r),
        (Long(l), Int(r)) => l.cmp(&i64::from(r)),
        (Int(l), Double(r)) => java_double_cmp(f64::from(l), r),
        (Double(l), Int(r)) => java_double_cmp(l, f64::from(r)),
        (Long(l), Double(r)) => java_double_cmp(l as f64, r),
        (Double(l), Long(r)) => java_double_cmp(l, r as f64),
        (Int(l), Str(r)) => l.cmp(&java_int(r)?),
        (Long(l), Str(r)) => l.cmp(&java_long(r)?),
        (Double(l), Str(r)) => java_double_cmp(l, java_double(r)?),
        (Str(l), Int(r)) => java_int(l)?.cmp(&r),
        (Str(l), Long(r)) => java_long(l)?.cmp(&r),
        (Str(l), Double(r)) => java_double_cmp(java_double(l)?, r),
        (Str(l), Bool(r)) => java_bool(l).cmp(&r),
        // Java casts the Boolean to String here: ClassCastException.
        (Bool(_), Str(_)) => return Err(Abort),
        (Bool(_), _) | (Int(_) | Long(_) | Double(_), Bool(_)) => Ordering::Less,
    };
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_parsing_follows_java() {
        assert_eq!(java_double(" 3.5 "), Ok(3.5));
        assert_eq!(java_double("\t-2e3\n"), Ok(-2000.0));
        assert_eq!(java_double("1.5f"), Ok(1.5));
        assert_eq!(java_double("7D"), Ok(7.0));
        assert_eq!(java_double(".5"), Ok(0.5));
        assert_eq!(java_double("5."), Ok(5.0));
        assert_eq!(java_double("-Infinity"), Ok(f64::NEG_INFINITY));
        assert!(java_double("NaN").is_ok_and(f64::is_nan));
        for bad in [
            "", " ", ".", "e5", "1e", "1e+", "inf", "nan", "1.5ff", "0x10", "1,5", "- 1",
        ] {
            assert_eq!(java_double(bad), Err(Abort), "{bad:?}");
        }
    }

    #[test]
    fn int_parsing_follows_java() {
        assert_eq!(java_int("+7"), Ok(7));
        assert_eq!(java_int("-7"), Ok(-7));
        assert_eq!(java_int("2147483648"), Err(Abort));
        assert_eq!(java_int(" 7"), Err(Abort));
        assert_eq!(java_int("7.0"), Err(Abort));
        assert_eq!(java_long("2147483648"), Ok(2_147_483_648));
        assert!(java_bool("TrUe") && !java_bool("yes"));
    }

    #[test]
    fn compare_converts_towards_the_other_side() {
        use Value::*;
        assert_eq!(java_compare(Str("3"), Int(2)), Ok(Ordering::Greater));
        assert_eq!(java_compare(Int(3), Str("3")), Ok(Ordering::Equal));
        assert_eq!(java_compare(Str("3.0"), Int(3)), Err(Abort));
        assert_eq!(java_compare(Str("3.0"), Double(3.0)), Ok(Ordering::Equal));
        assert_eq!(java_compare(Int(1), Long(1)), Ok(Ordering::Equal));
        assert_eq!(java_compare(Long(5), Double(4.5)), Ok(Ordering::Greater));
        assert_eq!(java_compare(Str("TRUE"), Bool(true)), Ok(Ordering::Equal));
        assert_eq!(java_compare(Bool(true), Str("true")), Err(Abort));
        assert_eq!(java_compare(Int(1), Bool(true)), Ok(Ordering::Less));
        assert_eq!(java_compare(Bool(true), Int(1)), Ok(Ordering::Less));
        assert_eq!(java_compare(Str("b"), Str("a")), Ok(Ordering::Greater));
    }

    #[test]
    fn doubles_order_like_java() {
        assert_eq!(java_double_cmp(f64::NAN, f64::INFINITY), Ordering::Greater);
        assert_eq!(java_double_cmp(f64::NAN, f64::NAN), Ordering::Equal);
        assert_eq!(java_double_cmp(-0.0, 0.0), Ordering::Less);
        assert_eq!(java_double_cmp(1.0, 2.0), Ordering::Less);
    }
}
