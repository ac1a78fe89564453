//! REGISTER_BROKER body (REMOTING.md §3.7): JSON, or the zlib "compressed" form:
//!
//! ```text
//! zlib( i32 len · DataVersion JSON
//!       i32 topicCount · { i32 len · "name read write perm filterType [attrsJSON]" }*
//!       i32 len · filterServerList JSON
//!       [5.x] i32 mappingCount · { i32 len · TopicQueueMappingInfo JSON }* )
//! ```
//!
//! The text form of a topic carries no `topicSysFlag` or `order`: Java loses them too.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use apogee_model::{DataVersion, TopicConfig, TopicFilterType, TopicName};
use bytes::{Buf, BufMut};
use serde::{Deserialize, Serialize};

use crate::{DecodeError, FrameLimits};

/// A broker's topic table with its version.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicConfigSerializeWrapper {
    #[serde(default)]
    pub data_version: DataVersion,
    #[serde(default)]
    pub topic_config_table: BTreeMap<String, TopicConfig>,
}

/// What a broker sends with REGISTER_BROKER.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBrokerBody {
    #[serde(default)]
    pub filter_server_list: Vec<String>,
    #[serde(default)]
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
}

const ZLIB_FIRST_BYTE: u8 = 0x78;

impl RegisterBrokerBody {
    /// Decodes either form. `compressed` is the header flag; a body that starts with the zlib
    /// marker is inflated even when the flag says otherwise (5.x brokers send `false`).
    pub fn decode(
        body: &[u8],
        compressed: bool,
        limits: &FrameLimits,
    ) -> Result<Self, DecodeError> {
        if body.is_empty() {
            return Ok(Self::default());
        }
        if compressed || body[0] == ZLIB_FIRST_BYTE {
            let raw = inflate(body, limits.inflated_body_bytes_max)?;
            return decode_compressed(&raw);
        }
        crate::body::from_json("RegisterBrokerBody", body)
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The zlib form Java writes with `encode(true)`.
    pub fn encode_compressed(&self) -> Vec<u8> {
        let mut raw = Vec::new();
        put_chunk(
            &mut raw,
            &serde_json::to_vec(&self.topic_config_serialize_wrapper.data_version)
                .unwrap_or_default(),
        );
        raw.put_i32(len_i32(
            self.topic_config_serialize_wrapper.topic_config_table.len(),
        ));
        for config in self
            .topic_config_serialize_wrapper
            .topic_config_table
            .values()
        {
            put_chunk(&mut raw, encode_topic_config_text(config).as_bytes());
        }
        put_chunk(
            &mut raw,
            &serde_json::to_vec(&self.filter_server_list).unwrap_or_default(),
        );
        raw.put_i32(0);
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(&raw);
        encoder.finish().unwrap_or_default()
    }
}

fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

fn put_chunk(out: &mut Vec<u8>, bytes: &[u8]) {
    out.put_i32(len_i32(bytes.len()));
    out.put_slice(bytes);
}

fn inflate(body: &[u8], max: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::ZlibDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Body(format!("RegisterBrokerBody: bad zlib stream: {e}")))?;
    if out.len() > max {
        return Err(DecodeError::InflatedTooLarge { max });
    }
    Ok(out)
}

fn take_chunk<'a>(buf: &mut &'a [u8], what: &str) -> Result<&'a [u8], DecodeError> {
    if buf.remaining() < 4 {
        return Err(DecodeError::Body(format!(
            "RegisterBrokerBody: truncated before {what}"
        )));
    }
    let len = buf.get_i32();
    let len = usize::try_from(len)
        .ok()
        .filter(|len| *len <= buf.len())
        .ok_or_else(|| DecodeError::Body(format!("RegisterBrokerBody: bad {what} length {len}")))?;
    let (chunk, rest) = buf.split_at(len);
    *buf = rest;
    Ok(chunk)
}

fn decode_compressed(raw: &[u8]) -> Result<RegisterBrokerBody, DecodeError> {
    let mut buf = raw;
    let data_version: DataVersion =
        crate::body::from_json("DataVersion", take_chunk(&mut buf, "dataVersion")?)?;
    if buf.remaining() < 4 {
        return Err(DecodeError::Body(
            "RegisterBrokerBody: truncated before topic count".into(),
        ));
    }
    let count = buf.get_i32();
    // Each topic needs at least its 4-byte length, which bounds the count before any allocation.
    let count = usize::try_from(count)
        .ok()
        .filter(|c| c.saturating_mul(4) <= buf.len())
        .ok_or_else(|| DecodeError::Body(format!("RegisterBrokerBody: bad topic count {count}")))?;
    let mut table = BTreeMap::new();
    for _ in 0..count {
        let text = std::str::from_utf8(take_chunk(&mut buf, "topic config")?).map_err(|_| {
            DecodeError::Body("RegisterBrokerBody: topic config is not UTF-8".into())
        })?;
        let config = decode_topic_config_text(text)?;
        table.insert(config.topic_name.as_str().to_owned(), config);
    }
    let filter_server_list = if buf.has_remaining() {
        crate::body::from_json(
            "filterServerList",
            take_chunk(&mut buf, "filterServerList")?,
        )?
    } else {
        Vec::new()
    };
    // A trailing 5.x topic-queue-mapping section is static-topic data we do not serve.
    Ok(RegisterBrokerBody {
        filter_server_list,
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version,
            topic_config_table: table,
        },
    })
}

/// `TopicConfig.encode()`: `name read write perm filterType ` then the attributes JSON.
pub fn encode_topic_config_text(config: &TopicConfig) -> String {
    format!(
        "{} {} {} {} {} {}",
        config.topic_name,
        config.read_queue_nums,
        config.write_queue_nums,
        config.perm,
        config.topic_filter_type.as_str(),
        serde_json::to_string(&config.attributes).unwrap_or_default()
    )
}

/// Parses `TopicConfig.encode()` text. At most six fields, so attribute values may hold spaces.
pub fn decode_topic_config_text(text: &str) -> Result<TopicConfig, DecodeError> {
    let bad = || DecodeError::Body(format!("bad topic config text {text:?}"));
    let parts: Vec<&str> = text.splitn(6, ' ').collect();
    if parts.len() < 5 {
        return Err(bad());
    }
    let topic_name = TopicName::new(parts[0]).map_err(|e| DecodeError::Body(e.to_string()))?;
    let mut config = TopicConfig::new(topic_name);
    config.read_queue_nums = parts[1].parse().map_err(|_| bad())?;
    config.write_queue_nums = parts[2].parse().map_err(|_| bad())?;
    config.perm = parts[3].parse().map_err(|_| bad())?;
    config.topic_filter_type = TopicFilterType::parse(parts[4]).ok_or_else(bad)?;
    if let Some(attrs) = parts.get(5).map(|a| a.trim()).filter(|a| !a.is_empty()) {
        config.attributes = serde_json::from_str(attrs).map_err(|_| bad())?;
    }
    Ok(config)
}

#[cfg(test)]
#[path = "register_tests.rs"]
mod tests;
