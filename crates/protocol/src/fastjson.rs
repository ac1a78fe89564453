//! fastjson compatibility (REMOTING.md §3.10).
//!
//! Writing: Java 4.x peers expect *legacy* output for some bodies, where maps with numeric
//! keys (`brokerAddrs`) are written with bare keys: `{0:"host:port"}`, and maps keyed by a
//! `MessageQueue` (`offsetTable` of ConsumeStats, TopicStatsTable, ResetOffsetBody) are
//! written with the object itself as the key: `{{"brokerName":"b","queueId":0,"topic":"t"}:5}`.
//! [`to_json`] writes either that or standard JSON (quoted keys, non-ASCII escaped, as
//! fastjson's BrowserCompatible mode does).
//!
//! In Rust such a map is a `BTreeMap<MessageQueue, V>` field tagged
//! `#[serde(with = "fastjson::mq_key_map")]`: serde sees string keys holding the queue's JSON,
//! [`to_json`] (legacy, with the field listed) turns them back into object keys, and reading
//! accepts both forms.
//!
//! Reading: [`from_slice`] first tries strict JSON; if that fails it rewrites fastjson's bare
//! numeric keys and object-as-key entries into quoted string keys and parses again.

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// How a body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonStyle {
    /// fastjson default: bare numeric keys in the listed map fields, UTF-8 as is.
    Legacy,
    /// Quoted keys everywhere, non-ASCII as `\uXXXX`.
    Standard,
}

/// Serialises `value`; in legacy style, objects anywhere under a key in `numeric_key_maps` get
/// bare numeric keys (`consumerOffset.json`: `"offsetTable":{"t@g":{0:12}}`) and object keys
/// (a key whose text is a JSON object, as [`mq_key_map`] writes a `MessageQueue`).
pub fn to_json<T: Serialize>(value: &T, style: JsonStyle, numeric_key_maps: &[&str]) -> Vec<u8> {
    // Serialising our own body types (strings, numbers, maps) into a Value cannot fail.
    let tree = serde_json::to_value(value).unwrap_or(Value::Null);
    let mut out = String::with_capacity(256);
    write_value(&tree, style, numeric_key_maps, false, &mut out);
    out.into_bytes()
}

fn write_value(value: &Value, style: JsonStyle, maps: &[&str], bare_keys: bool, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push('{');
            for (i, (key, child)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let legacy_key = bare_keys && style == JsonStyle::Legacy;
                if legacy_key && key.parse::<i64>().is_ok() {
                    out.push_str(key);
                } else if let Some(object) = legacy_key.then(|| object_key(key)).flatten() {
                    write_value(&object, style, maps, false, out);
                } else {
                    write_string(key, style, out);
                }
                out.push(':');
                write_value(
                    child,
                    style,
                    maps,
                    bare_keys || maps.contains(&key.as_str()),
                    out,
                );
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, style, maps, false, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, style, out),
        other => out.push_str(&other.to_string()),
    }
}

/// A key holding a whole JSON object (a `MessageQueue` written by [`mq_key_map`]), which
/// fastjson writes as the object itself.
fn object_key(key: &str) -> Option<Value> {
    if !key.starts_with('{') {
        return None;
    }
    serde_json::from_str::<Value>(key)
        .ok()
        .filter(Value::is_object)
}

fn write_string(s: &str, style: JsonStyle, out: &mut String) {
    use std::fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if style == JsonStyle::Standard && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses a JSON body, accepting fastjson's bare numeric keys and object keys.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(value),
        Err(strict_err) => match normalize(bytes) {
            Cow::Owned(fixed) => serde_json::from_slice(&fixed),
            Cow::Borrowed(_) => Err(strict_err),
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    ObjectKey,
    ObjectValue,
    Array,
}

/// Rewrites bare numeric keys and `{...}` keys into quoted string keys; returns the input
/// unchanged (borrowed) when there was nothing to rewrite.
pub fn normalize(bytes: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut stack: Vec<Frame> = Vec::new();
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                let end = string_end(bytes, i);
                out.extend_from_slice(&bytes[i..end]);
                i = end;
                continue;
            }
            b'{' if stack.last() == Some(&Frame::ObjectKey) => {
                let end = balanced_end(bytes, i);
                let key = String::from_utf8_lossy(&bytes[i..end]);
                out.extend_from_slice(&serde_json::to_vec(&key).unwrap_or_default());
                changed = true;
                i = end;
                continue;
            }
            b'-' | b'0'..=b'9' if stack.last() == Some(&Frame::ObjectKey) => {
                let end = bytes[i..]
                    .iter()
                    .position(|c| !matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .map_or(bytes.len(), |p| i + p);
                out.push(b'"');
                out.extend_from_slice(&bytes[i..end]);
                out.push(b'"');
                changed = true;
                i = end;
                continue;
            }
            b'{' => stack.push(Frame::ObjectKey),
            b'[' => stack.push(Frame::Array),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(top) = stack.last_mut().filter(|t| **t == Frame::ObjectKey) {
                    *top = Frame::ObjectValue;
                }
            }
            b',' => {
                if let Some(top) = stack.last_mut().filter(|t| **t == Frame::ObjectValue) {
                    *top = Frame::ObjectKey;
                }
            }
            _ => {}
        }
        out.push(b);
        i += 1;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(bytes)
    }
}

/// Index just past the string starting at `start` (a `"`), honouring escapes.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Index just past the `{...}` starting at `start`, skipping over strings.
fn balanced_end(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i);
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

/// Serde adapter for maps keyed by an object (`Map<MessageQueue, V>` in Java): each key is
/// carried as the JSON text of the object. [`to_json`] in legacy style writes such keys as
/// bare objects, Java's form; [`from_slice`] reads either form back.
pub mod mq_key_map {
    use std::collections::BTreeMap;

    use serde::de::{DeserializeOwned, Error as _};
    use serde::ser::{Error as _, SerializeMap};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K, V, S>(map: &BTreeMap<K, V>, serializer: S) -> Result<S::Ok, S::Error>
    where
        K: Serialize,
        V: Serialize,
        S: Serializer,
    {
        let mut out = serializer.serialize_map(Some(map.len()))?;
        for (key, value) in map {
            let text = serde_json::to_string(key).map_err(S::Error::custom)?;
            out.serialize_entry(&text, value)?;
        }
        out.end()
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: DeserializeOwned + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let raw = BTreeMap::<String, V>::deserialize(deserializer)?;
        raw.into_iter()
            .map(|(text, value)| {
                serde_json::from_str(&text)
                    .map(|key| (key, value))
                    .map_err(|e| D::Error::custom(format!("bad map key {text:?}: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn given_numeric_key_map_when_written_legacy_should_leave_keys_bare() {
        let mut addrs = BTreeMap::new();
        addrs.insert(0i64, "127.0.0.1:10911".to_owned());
        let mut body = serde_json::Map::new();
        body.insert("brokerAddrs".into(), serde_json::to_value(&addrs).unwrap());
        body.insert("name".into(), Value::String("ü".into()));
        let legacy = to_json(&body, JsonStyle::Legacy, &["brokerAddrs"]);
        assert_eq!(
            legacy,
            r#"{"brokerAddrs":{0:"127.0.0.1:10911"},"name":"ü"}"#.as_bytes()
        );
        let standard = to_json(&body, JsonStyle::Standard, &["brokerAddrs"]);
        assert_eq!(
            standard,
            br#"{"brokerAddrs":{"0":"127.0.0.1:10911"},"name":"\u00fc"}"#
        );
    }

    #[test]
    fn given_fastjson_keys_when_read_should_parse_both_styles() {
        let legacy: BTreeMap<String, BTreeMap<i64, String>> =
            from_slice(br#"{"a":{0:"x",1:"y"}}"#).unwrap();
        assert_eq!(legacy["a"][&1], "y");
        let object_key: BTreeMap<String, BTreeMap<String, i64>> =
            from_slice(br#"{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"t"}:5}}"#)
                .unwrap();
        let (key, value) = object_key["offsetTable"].iter().next().unwrap();
        assert_eq!(*value, 5);
        let mq: Value = serde_json::from_str(key).unwrap();
        assert_eq!(mq["queueId"], 0);
    }

    #[test]
    fn given_strings_containing_braces_when_normalized_should_not_touch_them() {
        let text = br#"{"k":"{0:1}","n":[1,{2:"v"}]}"#;
        let fixed = normalize(text);
        assert_eq!(&*fixed, br#"{"k":"{0:1}","n":[1,{"2":"v"}]}"#);
    }
}
