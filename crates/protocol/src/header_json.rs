//! JSON header encoding (serialize type 0, REMOTING.md §1.4): fastjson's key order on output,
//! lenient on input (any key order, unknown keys, missing remark/extFields, non-string
//! extField values, language as name or number).

use serde::Serialize;
use serde_json::Value;

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

pub(crate) fn decode(bytes: &[u8]) -> Result<HeaderFields, DecodeError> {
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
                ext_fields.insert(k.clone(), text);
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
