//! Field readers that accept what fastjson (the Java broker's JSON reader) accepts, because
//! clients of other languages write bodies differently: the C++ SDK writes enums as ordinals
//! and `subVersion` as a string, the Go SDK writes `codeSet` as strings and may name an enum
//! value Java does not have. Each reader takes a number or a string for a number, and an
//! ordinal or a (case-insensitive) name for an enum; a value it cannot read becomes the
//! field's default instead of failing the whole body — fastjson's `IgnoreNotMatch` spirit,
//! without its exceptions for out-of-range ordinals.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, SeqAccess, Visitor};

/// A JSON scalar as a string or a number, whichever the client wrote.
enum Scalar {
    Text(String),
    Int(i64),
    Other,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number, a boolean or null")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(i64::try_from(v).map_or(Scalar::Other, Scalar::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        // fastjson truncates a decimal written where an integer is expected.
        if v.is_finite() && v.abs() < 9.2e18 {
            Ok(Scalar::Int(v as i64))
        } else {
            Ok(Scalar::Other)
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Int(i64::from(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_none<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
    d.deserialize_any(ScalarVisitor)
}

/// A decimal integer; an unsigned 64-bit one past `i64::MAX` (a C++ `uint64` holding -1) is
/// read with Java's `long` wrap-around.
fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim();
    text.parse::<i64>().ok().or_else(|| {
        text.parse::<u64>()
            .ok()
            .map(|v| i64::from_ne_bytes(v.to_ne_bytes()))
    })
}

/// An `i64` written as a number or a string (C++ `subVersion`); 0 when unreadable.
pub fn i64_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Int(v) => v,
        Scalar::Text(t) => parse_int(&t).unwrap_or(0),
        Scalar::Other => 0,
    })
}

/// An `i32` written as a number or a string; 0 when unreadable or out of range.
pub fn i32_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    Ok(i32::try_from(i64_or_string(d)?).unwrap_or(0))
}

/// A string, with `null` (the Rust SDK's unset `Option`) and numbers read as text.
pub fn string_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Text(t) => t,
        Scalar::Int(v) => v.to_string(),
        Scalar::Other => String::new(),
    })
}

/// A `bool` written as a boolean, a number (`1`/`0`) or a string (`"true"`, `"1"`).
pub fn bool_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Int(v) => v != 0,
        Scalar::Text(t) => {
            let t = t.trim();
            t == "1" || t.eq_ignore_ascii_case("true")
        }
        Scalar::Other => false,
    })
}

struct IntSetVisitor;

impl<'de> Visitor<'de> for IntSetVisitor {
    type Value = BTreeSet<i32>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of numbers or numeric strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeSet::new();
        while let Some(item) = seq.next_element::<serde_json::Value>()? {
            let value = match &item {
                serde_json::Value::Number(n) => n.as_i64(),
                serde_json::Value::String(s) => parse_int(s),
                _ => None,
            };
            if let Some(v) = value.and_then(|v| i32::try_from(v).ok()) {
                out.insert(v);
            }
        }
        Ok(out)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeSet::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeSet::new())
    }
}

/// A set of `i32` written as numbers or numeric strings (Go `codeSet`); unreadable items are
/// dropped.
pub fn int_set<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeSet<i32>, D::Error> {
    d.deserialize_any(IntSetVisitor)
}

/// A Java enum written as its name (any case) or its ordinal; `names` lists the constants in
/// ordinal order. Returns the canonical name, or `None` for an unknown value (fastjson reads
/// an unknown name as null).
pub fn enum_name<'de, D: Deserializer<'de>>(
    d: D,
    names: &'static [&'static str],
) -> Result<Option<&'static str>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Int(ordinal) => usize::try_from(ordinal)
            .ok()
            .and_then(|i| names.get(i).copied()),
        Scalar::Text(text) => {
            let text = text.trim();
            match parse_int(text) {
                Some(ordinal) => usize::try_from(ordinal)
                    .ok()
                    .and_then(|i| names.get(i).copied()),
                None => names.iter().copied().find(|n| n.eq_ignore_ascii_case(text)),
            }
        }
        Scalar::Other => None,
    })
}

/// Java's `ConsumeType`, in ordinal order.
pub const CONSUME_TYPES: &[&str] = &["CONSUME_ACTIVELY", "CONSUME_PASSIVELY", "CONSUME_POP"];
/// Java's `ConsumeFromWhere`, in ordinal order.
pub const CONSUME_FROM_WHERE: &[&str] = &[
    "CONSUME_FROM_LAST_OFFSET",
    "CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST",
    "CONSUME_FROM_MIN_OFFSET",
    "CONSUME_FROM_MAX_OFFSET",
    "CONSUME_FROM_FIRST_OFFSET",
    "CONSUME_FROM_TIMESTAMP",
];
/// Java's `MessageModel`, in ordinal order.
pub const MESSAGE_MODELS: &[&str] = &["BROADCASTING", "CLUSTERING"];

/// `consumeType` as a name or an ordinal; empty when unknown.
pub fn consume_type<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(enum_name(d, CONSUME_TYPES)?.unwrap_or_default().to_owned())
}

/// `consumeFromWhere` as a name or an ordinal; empty when unknown (Go may send `UNKNOWN`).
pub fn consume_from_where<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(enum_name(d, CONSUME_FROM_WHERE)?
        .unwrap_or_default()
        .to_owned())
}
