//! JSON header encoding (serialize type 0, REMOTING.md §1.4): fastjson's key order on output,
//! lenient on input (any key order, unknown keys, missing remark/extFields, non-string
//! extField values, language as name or number).

use serde::Serialize;
use serde_json::Value;

use crate::ext_fields::{Builder, Key};
use crate::{DecodeError, ExtFields, LanguageCode, RemotingCommand, SerializeType};

/// The decoded fixed fields of a header; the frame layer adds the body.
pub(crate) struct HeaderFields {
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
}

/// Field order is fastjson's alphabetical order.
#[derive(Serialize)]
struct JsonHeaderOut<'a> {
    code: i32,
    #[serde(rename = "extFields", skip_serializing_if = "ExtFields::is_empty")]
    ext_fields: &'a ExtFields,
    flag: i32,
    language: &'static str,
    opaque: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: &'a Option<String>,
    #[serde(rename = "serializeTypeCurrentRPC")]
    serialize_type: &'static str,
    version: i32,
}

pub(crate) fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    let header = JsonHeaderOut {
        code: cmd.code,
        ext_fields: &cmd.ext_fields,
        flag: cmd.flag,
        language: cmd.language.name(),
        opaque: cmd.opaque,
        remark: &cmd.remark,
        serialize_type: SerializeType::Json.name(),
        version: cmd.version,
    };
    // Serialising a struct of integers, strings and a string map into a Vec cannot fail.
    let _ = serde_json::to_writer(out, &header);
}

/// Decodes a JSON header straight into its fields: one pass, no intermediate JSON tree (the
/// `serde_json::Value` path cost an ordered map and a string per key per request).
pub(crate) fn decode(bytes: &[u8]) -> Result<HeaderFields, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let visitor = HeaderVisitor { len: bytes.len() };
    let fields = serde::Deserializer::deserialize_any(&mut de, visitor)
        .map_err(|e| DecodeError::JsonHeader(e.to_string()))?;
    de.end()
        .map_err(|e| DecodeError::JsonHeader(e.to_string()))?;
    Ok(fields)
}

/// `len`: the header's length in bytes, which bounds the text of its `extFields`.
struct HeaderVisitor {
    len: usize,
}

impl<'de> serde::de::Visitor<'de> for HeaderVisitor {
    type Value = HeaderFields;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("header is not a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<HeaderFields, A::Error> {
        let mut fields = HeaderFields {
            code: 0,
            language: LanguageCode::JAVA,
            version: 0,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
        };
        while let Some(key) = map.next_key::<Field>()? {
            match key {
                Field::Code => fields.code = map.next_value::<Int>()?.0,
                Field::Version => fields.version = map.next_value::<Int>()?.0,
                Field::Opaque => fields.opaque = map.next_value::<Int>()?.0,
                Field::Flag => fields.flag = map.next_value::<Int>()?.0,
                Field::Language => fields.language = language(map.next_value::<Value>()?),
                Field::Remark => {
                    fields.remark = match map.next_value::<Value>()? {
                        Value::String(s) => Some(s),
                        _ => None,
                    }
                }
                Field::ExtFields => fields.ext_fields = map.next_value_seed(ExtSeed(self.len))?,
                Field::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(fields)
    }
}

/// A header key, read without allocating.
enum Field {
    Code,
    Language,
    Version,
    Opaque,
    Flag,
    Remark,
    ExtFields,
    Other,
}

impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(FieldVisitor)
    }
}

struct FieldVisitor;

impl serde::de::Visitor<'_> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a header key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Field, E> {
        Ok(match key {
            "code" => Field::Code,
            "language" => Field::Language,
            "version" => Field::Version,
            "opaque" => Field::Opaque,
            "flag" => Field::Flag,
            "remark" => Field::Remark,
            "extFields" => Field::ExtFields,
            _ => Field::Other,
        })
    }
}

fn language(value: Value) -> LanguageCode {
    match value {
        Value::String(name) => LanguageCode::from_name(&name),
        Value::Number(n) => n
            .as_u64()
            .and_then(|v| u8::try_from(v).ok())
            .map_or(LanguageCode::OTHER, LanguageCode),
        _ => LanguageCode::JAVA,
    }
}

/// An integer header field: absent or null is 0; anything but a 32-bit integer is refused.
struct Int(i32);

impl<'de> serde::Deserialize<'de> for Int {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::Null => Ok(Int(0)),
            Value::Number(n) => n
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .map(Int)
                .ok_or_else(|| D::Error::custom(format!("`{n}` is not a 32-bit integer"))),
            other => Err(D::Error::custom(format!("not a number: {other}"))),
        }
    }
}

/// `extFields` read out of a header of `.0` bytes: string values as they are, other scalars
/// and structures as their JSON text, nulls left out; absent or null is empty.
struct ExtSeed(usize);

impl<'de> serde::de::DeserializeSeed<'de> for ExtSeed {
    type Value = ExtFields;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<ExtFields, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ExtSeed {
    type Value = ExtFields;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("`extFields` as an object")
    }

    fn visit_unit<E>(self) -> Result<ExtFields, E> {
        Ok(ExtFields::new())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ExtFields, A::Error> {
        let mut fields = ExtFields::builder_within(self.0);
        while let Some(key) = map.next_key_seed(KeySeed(&mut fields))? {
            map.next_value_seed(ValueSeed(&mut fields, key))?;
        }
        Ok(fields.finish())
    }
}

/// An `extFields` key, copied straight into the fields' buffer.
struct KeySeed<'b>(&'b mut Builder);

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(self.0.key(key))
    }
}

/// An `extFields` value: a string copied straight into the fields' buffer, other scalars and
/// structures as their JSON text; a null drops the key (the last value of a repeated key
/// counts, as in a JSON object).
struct ValueSeed<'b>(&'b mut Builder, Key);

impl<'de> serde::de::DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl ValueSeed<'_> {
    fn text(self, text: impl std::fmt::Display) {
        self.0.value(self.1, |out| {
            use std::fmt::Write;
            let _ = write!(out, "{text}");
        });
    }
}

impl<'de> serde::de::Visitor<'de> for ValueSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a value")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        self.0.value(self.1, |out| out.push_str(text));
        Ok(())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.0.absent(self.1);
        Ok(())
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<(), E> {
        self.text(if v { "true" } else { "false" });
        Ok(())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<(), E> {
        self.text(v);
        Ok(())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<(), E> {
        self.text(v);
        Ok(())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<(), E> {
        self.text(Value::from(v));
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let value: Value =
            serde::Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        self.text(value);
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let value: Value =
            serde::Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        self.text(value);
        Ok(())
    }
}

#[cfg(test)]
fn decode_via_value(bytes: &[u8]) -> Result<HeaderFields, DecodeError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| DecodeError::JsonHeader(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(DecodeError::JsonHeader(
            "header is not a JSON object".into(),
        ));
    };
    let int = |key: &str| -> Result<i32, DecodeError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| DecodeError::JsonHeader(format!("`{key}` is not a 32-bit integer"))),
            Some(other) => Err(DecodeError::JsonHeader(format!(
                "`{key}` is not a number: {other}"
            ))),
        }
    };
    let language = match map.get("language") {
        Some(Value::String(name)) => LanguageCode::from_name(name),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u8::try_from(v).ok())
            .map_or(LanguageCode::OTHER, LanguageCode),
        _ => LanguageCode::JAVA,
    };
    let remark = match map.get("remark") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let mut ext_fields = ExtFields::new();
    match map.get("extFields") {
        Some(Value::Object(fields)) => {
            for (k, v) in fields {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    other => other.to_string(),
                };
                ext_fields.insert(k, text);
            }
        }
        None | Some(Value::Null) => {}
        Some(other) => {
            return Err(DecodeError::JsonHeader(format!(
                "`extFields` is not an object: {other}"
            )));
        }
    }
    Ok(HeaderFields {
        code: int("code")?,
        language,
        version: int("version")?,
        opaque: int("opaque")?,
        flag: int("flag")?,
        remark,
        ext_fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same(bytes: &[u8]) {
        let streamed = decode(bytes);
        let tree = decode_via_value(bytes);
        match (streamed, tree) {
            (Ok(a), Ok(b)) => {
                assert_eq!(
                    (
                        a.code,
                        a.language,
                        a.version,
                        a.opaque,
                        a.flag,
                        &a.remark,
                        &a.ext_fields
                    ),
                    (
                        b.code,
                        b.language,
                        b.version,
                        b.opaque,
                        b.flag,
                        &b.remark,
                        &b.ext_fields
                    ),
                    "{}",
                    String::from_utf8_lossy(bytes)
                );
            }
            (Err(_), Err(_)) => {}
            (a, b) => panic!(
                "{}: streamed ok={} tree ok={}",
                String::from_utf8_lossy(bytes),
                a.is_ok(),
                b.is_ok()
            ),
        }
    }

    #[test]
    fn given_odd_headers_should_decode_as_the_json_tree_did() {
        for text in [
            r#"{"code":10,"language":"JAVA","version":317,"opaque":5,"flag":0,"remark":"r","extFields":{"a":"1","b":2,"c":null,"d":[1,{"x":true}],"e":1.5}}"#,
            r#"{"code":null,"language":12,"extFields":null,"remark":7}"#,
            r#"{"language":300,"version":-4}"#,
            r#"{"code":2147483648}"#,
            r#"{"code":1.0}"#,
            r#"{"code":"1"}"#,
            r#"{"extFields":[1]}"#,
            r#"{"extFields":{"k":"v","k":null}}"#,
            r#"{"code":1,"code":2,"unknown":{"deep":[1,2,{"a":null}]}}"#,
            r#"{"extFields":{"\u0041":"\u00e9"}}"#,
            r#"[1,2]"#,
            r#"{"code":1} trailing"#,
            r#"{}"#,
            r#"{"code":1"#,
        ] {
            same(text.as_bytes());
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("code".to_owned()),
                        Just("language".to_owned()),
                        Just("remark".to_owned()),
                        Just("extFields".to_owned()),
                        Just("flag".to_owned()),
                        "[a-z]{1,4}",
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn given_any_json_should_decode_as_the_json_tree_did(value in arb_json()) {
            same(value.to_string().as_bytes());
        }
    }
}
