//! The batch ("encoded message") format of SEND_BATCH_MESSAGE bodies (REMOTING.md §4.4):
//!
//! ```text
//! { i32 totalSize · i32 magic · i32 bodyCrc · i32 flag · i32 bodyLen · body · i16 propLen · props }*
//! ```
//! Entries are sliced out of the request body without copying.

use bytes::{BufMut, Bytes};

use crate::DecodeError;

/// One message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry {
    pub flag: i32,
    pub body: Bytes,
    /// Properties string (§4.1).
    pub properties: String,
}

const FIXED_BYTES: usize = 4 * 5 + 2;

/// Splits a batch body; at most `max_entries` entries, each checked against the body length
/// before anything is sliced.
pub fn decode_batch(body: &Bytes, max_entries: usize) -> Result<Vec<BatchEntry>, DecodeError> {
    let bad = |what: String| DecodeError::Body(format!("batch: {what}"));
    let mut entries = Vec::new();
    let mut at = 0usize;
    while at < body.len() {
        if entries.len() >= max_entries {
            return Err(bad(format!("more than {max_entries} messages")));
        }
        let rest = &body[at..];
        if rest.len() < FIXED_BYTES {
            return Err(bad(format!("truncated entry at byte {at}")));
        }
        let int = |i: usize| i32::from_be_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
        let total = usize::try_from(int(0)).map_err(|_| bad(format!("negative size at {at}")))?;
        let body_len =
            usize::try_from(int(16)).map_err(|_| bad(format!("negative body length at {at}")))?;
        if total > rest.len() || total < FIXED_BYTES || body_len > total - FIXED_BYTES {
            return Err(bad(format!(
                "entry at byte {at} claims {total} bytes (body {body_len}), {} left",
                rest.len()
            )));
        }
        let props_at = 20 + body_len;
        let props_len = usize::from(u16::from_be_bytes([rest[props_at], rest[props_at + 1]]));
        if props_at + 2 + props_len != total {
            return Err(bad(format!(
                "entry at byte {at}: size {total} does not match its parts"
            )));
        }
        let properties = std::str::from_utf8(&rest[props_at + 2..total])
            .map_err(|_| bad(format!("properties of entry at byte {at} are not UTF-8")))?;
        entries.push(BatchEntry {
            flag: int(12),
            body: body.slice(at + 20..at + props_at),
            properties: properties.to_owned(),
        });
        at += total;
    }
    Ok(entries)
}

/// Encodes messages the way a Java producer does (magic 0, CRC 0).
pub fn encode_batch(entries: &[BatchEntry], out: &mut impl BufMut) {
    for entry in entries {
        let total = FIXED_BYTES + entry.body.len() + entry.properties.len();
        out.put_i32(i32::try_from(total).unwrap_or(i32::MAX));
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(entry.flag);
        out.put_i32(i32::try_from(entry.body.len()).unwrap_or(i32::MAX));
        out.put_slice(&entry.body);
        out.put_i16(i16::try_from(entry.properties.len()).unwrap_or(i16::MAX));
        out.put_slice(entry.properties.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(flag: i32, body: &[u8], props: &str) -> BatchEntry {
        BatchEntry {
            flag,
            body: Bytes::copy_from_slice(body),
            properties: props.into(),
        }
    }

    #[test]
    fn given_two_messages_when_encoded_should_decode_to_the_same_entries() {
        let entries = vec![entry(1, b"hello", "KEYS\u{1}k1\u{2}"), entry(0, b"", "")];
        let mut buf = Vec::new();
        encode_batch(&entries, &mut buf);
        assert_eq!(buf.len(), 22 + 5 + 8 + 22);
        assert_eq!(decode_batch(&Bytes::from(buf), 10).unwrap(), entries);
    }

    #[test]
    fn given_a_lying_size_should_fail_with_a_clear_error() {
        let mut buf = Vec::new();
        encode_batch(&[entry(0, b"abc", "")], &mut buf);
        buf[3] = 200;
        let err = decode_batch(&Bytes::from(buf), 10).unwrap_err();
        assert!(err.to_string().contains("claims 200 bytes"), "{err}");
    }

    #[test]
    fn given_too_many_entries_should_refuse() {
        let mut buf = Vec::new();
        encode_batch(&[entry(0, b"a", ""), entry(0, b"b", "")], &mut buf);
        assert!(decode_batch(&Bytes::from(buf), 1).is_err());
    }

    proptest! {
        #[test]
        fn given_any_bytes_decode_should_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_batch(&Bytes::from(bytes), 64);
        }

        #[test]
        fn given_any_entries_should_round_trip(items in proptest::collection::vec((any::<i32>(), proptest::collection::vec(any::<u8>(), 0..50), "[a-zA-Z0-9]{0,20}"), 0..8)) {
            let entries: Vec<_> = items.iter().map(|(f, b, p)| entry(*f, b, p)).collect();
            let mut buf = Vec::new();
            encode_batch(&entries, &mut buf);
            prop_assert_eq!(decode_batch(&Bytes::from(buf), 64).unwrap(), entries);
        }
    }
}
