//! The stored message record (REMOTING.md §4.3): the CommitLog format, which is also what
//! PULL, QUERY_MESSAGE and VIEW_MESSAGE_BY_ID return verbatim. Decoding borrows the body,
//! topic and properties from the input `Bytes` (no copies) and checks every length against
//! the bytes present and the recomputed TOTALSIZE.
//!
//! ```text
//! TOTALSIZE i32 | MAGIC i32 | BODYCRC i32 | QUEUEID i32 | FLAG i32 | QUEUEOFFSET i64 |
//! PHYSICALOFFSET i64 | SYSFLAG i32 | BORNTIMESTAMP i64 | BORNHOST 8/20 | STORETIMESTAMP i64 |
//! STOREHOST 8/20 | RECONSUMETIMES i32 | PREPAREDTXOFFSET i64 | BODYLEN i32 | BODY |
//! TOPICLEN i8 (v1) / i16 (v2) | TOPIC | PROPLEN i16 | PROPERTIES
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{Buf, BufMut, Bytes};

/// Magic of a v1 record (1-byte topic length).
pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// Magic of a v2 record (2-byte topic length).
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Magic of the end-of-file blank marker.
pub const BLANK_MAGIC: i32 = 0xCBD4_3194_u32 as i32;
/// Size of the end-of-file blank marker.
pub const BLANK_BYTES: usize = 8;

/// `MessageSysFlag` bits.
pub mod sys_flag {
    pub const COMPRESSED: i32 = 0x1;
    pub const MULTI_TAGS: i32 = 0x2;
    pub const TRANSACTION_MASK: i32 = 0xC;
    pub const TRANSACTION_PREPARED: i32 = 0x4;
    pub const TRANSACTION_COMMIT: i32 = 0x8;
    pub const TRANSACTION_ROLLBACK: i32 = 0xC;
    pub const BORNHOST_V6: i32 = 0x10;
    pub const STOREHOST_V6: i32 = 0x20;
    pub const NEED_UNWRAP: i32 = 0x40;
    pub const INNER_BATCH: i32 = 0x80;
}

/// Property separators (§4.1).
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
pub const PROPERTY_SEPARATOR: char = '\u{2}';

/// Why bytes are not a valid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record truncated: need {needed} bytes, {available} available")]
    Truncated { needed: usize, available: usize },
    #[error("bad magic code {0:#x}")]
    BadMagic(i32),
    #[error("TOTALSIZE {declared} does not match the {computed} bytes the fields need")]
    SizeMismatch { declared: i32, computed: usize },
    #[error("negative length {0}")]
    NegativeLength(i64),
    #[error("body CRC {stored:#x} does not match computed {computed:#x}")]
    BodyCrc { stored: i32, computed: i32 },
    #[error("topic is not UTF-8")]
    TopicNotUtf8,
}

/// One decoded record. `body`, `topic` and `properties` share the input buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub magic: i32,
    pub body_crc: i32,
    pub queue_id: i32,
    pub flag: i32,
    pub queue_offset: i64,
    pub physical_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: Bytes,
    pub topic: Bytes,
    pub properties: Bytes,
}

/// What sits at a position of a CommitLog file. Returned by value and matched at once;
/// boxing the large variant would cost an allocation per record on the recovery scan.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordAt {
    Message(StoredRecord),
    /// End-of-file marker: the rest of the file (`remaining` bytes from here) is unused.
    Blank {
        remaining: i32,
    },
}

fn host_bytes(addr: &SocketAddr) -> usize {
    if addr.is_ipv4() { 8 } else { 20 }
}

impl StoredRecord {
    /// Bytes this record occupies when encoded.
    pub fn encoded_len(&self) -> usize {
        let topic_len_bytes = if self.magic == MAGIC_V2 { 2 } else { 1 };
        4 + 4
            + 4
            + 4
            + 4
            + 8
            + 8
            + 4
            + 8
            + host_bytes(&self.born_host)
            + 8
            + host_bytes(&self.store_host)
            + 4
            + 8
            + 4
            + self.body.len()
            + topic_len_bytes
            + self.topic.len()
            + 2
            + self.properties.len()
    }

    /// The topic as text (validated UTF-8 at decode time).
    pub fn topic_str(&self) -> &str {
        std::str::from_utf8(&self.topic).unwrap_or_default()
    }

    /// The sys flag with the host-version bits matching the actual addresses.
    pub fn normalized_sys_flag(&self) -> i32 {
        let mut flag = self.sys_flag & !(sys_flag::BORNHOST_V6 | sys_flag::STOREHOST_V6);
        if self.born_host.is_ipv6() {
            flag |= sys_flag::BORNHOST_V6;
        }
        if self.store_host.is_ipv6() {
            flag |= sys_flag::STOREHOST_V6;
        }
        flag
    }

    /// Appends the encoded record. Topic length is bounded by the magic (v1 ≤ 127 bytes) and
    /// properties by i16; callers validate both before building a record.
    pub fn encode(&self, out: &mut impl BufMut) {
        debug_assert!(
            self.magic == MAGIC_V2 || self.topic.len() <= 127,
            "v1 topic ≤ 127 bytes"
        );
        debug_assert!(
            self.properties.len() <= i16::MAX as usize,
            "properties ≤ 32767 bytes"
        );
        out.put_i32(i32::try_from(self.encoded_len()).unwrap_or(i32::MAX));
        out.put_i32(self.magic);
        out.put_i32(self.body_crc);
        out.put_i32(self.queue_id);
        out.put_i32(self.flag);
        out.put_i64(self.queue_offset);
        out.put_i64(self.physical_offset);
        out.put_i32(self.normalized_sys_flag());
        out.put_i64(self.born_timestamp);
        put_host(out, &self.born_host);
        out.put_i64(self.store_timestamp);
        put_host(out, &self.store_host);
        out.put_i32(self.reconsume_times);
        out.put_i64(self.prepared_transaction_offset);
        out.put_i32(i32::try_from(self.body.len()).unwrap_or(i32::MAX));
        out.put_slice(&self.body);
        if self.magic == MAGIC_V2 {
            out.put_i16(i16::try_from(self.topic.len()).unwrap_or(i16::MAX));
        } else {
            out.put_i8(i8::try_from(self.topic.len()).unwrap_or(i8::MAX));
        }
        out.put_slice(&self.topic);
        out.put_i16(i16::try_from(self.properties.len()).unwrap_or(i16::MAX));
        out.put_slice(&self.properties);
    }

    /// Parses the properties string (§4.1).
    pub fn properties_map(&self) -> BTreeMap<String, String> {
        parse_properties(&String::from_utf8_lossy(&self.properties))
    }
}

fn put_host(out: &mut impl BufMut, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(i32::from(addr.port()));
}

struct Cursor<'a> {
    buf: &'a Bytes,
    at: usize,
    end: usize,
}

impl Cursor<'_> {
    fn need(&self, n: usize) -> Result<(), RecordError> {
        if self.end.saturating_sub(self.at) < n {
            return Err(RecordError::Truncated {
                needed: self.at + n,
                available: self.end,
            });
        }
        Ok(())
    }

    fn i8(&mut self) -> Result<i8, RecordError> {
        self.need(1)?;
        let v = self.buf[self.at] as i8;
        self.at += 1;
        Ok(v)
    }

    fn i16(&mut self) -> Result<i16, RecordError> {
        self.need(2)?;
        let v = (&self.buf[self.at..]).get_i16();
        self.at += 2;
        Ok(v)
    }

    fn i32(&mut self) -> Result<i32, RecordError> {
        self.need(4)?;
        let v = (&self.buf[self.at..]).get_i32();
        self.at += 4;
        Ok(v)
    }

    fn i64(&mut self) -> Result<i64, RecordError> {
        self.need(8)?;
        let v = (&self.buf[self.at..]).get_i64();
        self.at += 8;
        Ok(v)
    }

    fn slice(&mut self, len: i64) -> Result<Bytes, RecordError> {
        let len = usize::try_from(len).map_err(|_| RecordError::NegativeLength(len))?;
        self.need(len)?;
        let out = self.buf.slice(self.at..self.at + len);
        self.at += len;
        Ok(out)
    }

    fn host(&mut self, v6: bool) -> Result<SocketAddr, RecordError> {
        let ip = if v6 {
            self.need(16)?;
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&self.buf[self.at..self.at + 16]);
            self.at += 16;
            IpAddr::V6(Ipv6Addr::from(octets))
        } else {
            self.need(4)?;
            let mut octets = [0u8; 4];
            octets.copy_from_slice(&self.buf[self.at..self.at + 4]);
            self.at += 4;
            IpAddr::V4(Ipv4Addr::from(octets))
        };
        let port = self.i32()?;
        Ok(SocketAddr::new(ip, u16::try_from(port).unwrap_or(0)))
    }
}

/// Decodes the record (or blank marker) starting at `at` in `buf`. With `check_crc`, the body
/// CRC is verified. Returns the record and its size in bytes.
pub fn decode_record(
    buf: &Bytes,
    at: usize,
    check_crc: bool,
) -> Result<(RecordAt, usize), RecordError> {
    let mut c = Cursor {
        buf,
        at,
        end: buf.len(),
    };
    if at > buf.len() {
        return Err(RecordError::Truncated {
            needed: at,
            available: buf.len(),
        });
    }
    let total = c.i32()?;
    let magic = c.i32()?;
    if magic == BLANK_MAGIC {
        return Ok((RecordAt::Blank { remaining: total }, BLANK_BYTES));
    }
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(RecordError::BadMagic(magic));
    }
    let total_len =
        usize::try_from(total).map_err(|_| RecordError::NegativeLength(i64::from(total)))?;
    if total_len < BLANK_BYTES {
        return Err(RecordError::SizeMismatch {
            declared: total,
            computed: BLANK_BYTES,
        });
    }
    c.need(total_len - 8)?;
    c.end = at + total_len;
    let record = decode_fields(&mut c, magic)?;
    if c.at != c.end || record.encoded_len() != total_len {
        return Err(RecordError::SizeMismatch {
            declared: total,
            computed: c.at - at,
        });
    }
    if check_crc {
        let computed = body_crc(&record.body);
        if computed != record.body_crc {
            return Err(RecordError::BodyCrc {
                stored: record.body_crc,
                computed,
            });
        }
    }
    Ok((RecordAt::Message(record), total_len))
}

fn decode_fields(c: &mut Cursor<'_>, magic: i32) -> Result<StoredRecord, RecordError> {
    let body_crc = c.i32()?;
    let queue_id = c.i32()?;
    let flag = c.i32()?;
    let queue_offset = c.i64()?;
    let physical_offset = c.i64()?;
    let sys_flag = c.i32()?;
    let born_timestamp = c.i64()?;
    let born_host = c.host(sys_flag & sys_flag::BORNHOST_V6 != 0)?;
    let store_timestamp = c.i64()?;
    let store_host = c.host(sys_flag & sys_flag::STOREHOST_V6 != 0)?;
    let reconsume_times = c.i32()?;
    let prepared_transaction_offset = c.i64()?;
    let body_len = c.i32()?;
    let body = c.slice(i64::from(body_len))?;
    let topic_len = if magic == MAGIC_V2 {
        i64::from(c.i16()?)
    } else {
        i64::from(c.i8()?)
    };
    let topic = c.slice(topic_len)?;
    if std::str::from_utf8(&topic).is_err() {
        return Err(RecordError::TopicNotUtf8);
    }
    let properties_len = c.i16()?;
    let properties = c.slice(i64::from(properties_len))?;
    Ok(StoredRecord {
        magic,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        physical_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    })
}

/// CRC32 of the body, masked to 31 bits as RocketMQ stores it.
pub fn body_crc(body: &[u8]) -> i32 {
    i32::try_from(crc32fast::hash(body) & 0x7FFF_FFFF).unwrap_or(0)
}

/// Java's `String.hashCode` over UTF-16 code units (tag codes, index keys).
pub fn java_string_hash(text: &str) -> i32 {
    java_string_hash_continue(0, text)
}

/// [`java_string_hash`] of a string that starts with one whose hash is `hash` and goes on
/// with `text`: the hash of a concatenation without building it.
pub fn java_string_hash_continue(hash: i32, text: &str) -> i32 {
    text.encode_utf16().fold(hash, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The ConsumeQueue tags code of a tag (0 when absent or empty).
pub fn tags_code(tag: Option<&str>) -> i64 {
    tag.filter(|t| !t.is_empty())
        .map_or(0, |t| i64::from(java_string_hash(t)))
}

/// Encodes a properties map (§4.1): `k 0x01 v 0x02` per entry.
pub fn encode_properties(props: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (k, v) in props {
        out.push_str(k);
        out.push(NAME_VALUE_SEPARATOR);
        out.push_str(v);
        out.push(PROPERTY_SEPARATOR);
    }
    out
}

/// One property's value, found without building a map (the send and dispatch hot paths,
/// a dozen lookups per message). Same rules as [`parse_properties`]: empty keys/values are
/// ignored and the last occurrence wins. Walks the pieces from the end as bytes (both
/// separators are ASCII, so every cut is a char boundary; each found with `memrchr`)
/// comparing only pieces that start with `key` and its separator.
pub fn find_property<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    if key.is_empty() || key.contains([NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR]) {
        return find_property_by_split(text, key);
    }
    let (bytes, key_bytes) = (text.as_bytes(), key.as_bytes());
    let mut end = bytes.len();
    loop {
        let start = memchr::memrchr(PROPERTY_SEPARATOR as u8, &bytes[..end]).map_or(0, |at| at + 1);
        let piece = &bytes[start..end];
        if piece.len() > key_bytes.len() + 1
            && piece[key_bytes.len()] == NAME_VALUE_SEPARATOR as u8
            && piece.starts_with(key_bytes)
        {
            return text.get(start + key_bytes.len() + 1..end);
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
}

/// Whether any of `keys` has a value in `text`: one walk over the pieces, where a
/// [`find_property`] per key walks them once each (the send path asks about five timer keys
/// that a message almost never has). Keys holding a separator are looked up one by one.
pub fn any_property(text: &str, keys: &[&str]) -> bool {
    if keys
        .iter()
        .any(|k| k.is_empty() || k.contains([NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR]))
    {
        return keys.iter().any(|k| find_property(text, k).is_some());
    }
    text.split(PROPERTY_SEPARATOR).any(|piece| {
        piece
            .split_once(NAME_VALUE_SEPARATOR)
            .is_some_and(|(k, v)| !v.is_empty() && keys.contains(&k))
    })
}

/// [`find_property`] for any key (the general rule the fast path must agree with).
fn find_property_by_split<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.rsplit(PROPERTY_SEPARATOR)
        .filter_map(|piece| piece.split_once(NAME_VALUE_SEPARATOR))
        .find(|(k, v)| *k == key && !v.is_empty())
        .map(|(_, v)| v)
}

/// Parses a properties string as Java does: empty keys or values are dropped, a missing final
/// separator is tolerated.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.split(PROPERTY_SEPARATOR)
        .filter_map(|piece| piece.split_once(NAME_VALUE_SEPARATOR))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
