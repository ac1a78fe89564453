//! ROCKETMQ binary header encoding (serialize type 1, REMOTING.md §1.5). Every length read
//! from the peer is checked against the bytes actually present before anything is allocated.
//! The fixed part is 21 bytes: code 2, language 1, version 2, opaque 4, flag 4, remark length
//! 4, extFields length 4.

use bytes::BufMut;

use crate::header_json::HeaderFields;
use crate::{DecodeError, ExtFields, LanguageCode, RemotingCommand};

/// Whether a command can use this encoding: code and version are 16-bit here.
pub(crate) fn fits(cmd: &RemotingCommand) -> bool {
    i16::try_from(cmd.code).is_ok() && i16::try_from(cmd.version).is_ok()
}

/// Writes the header. Callers check [`fits`] first; out-of-range values would be truncated.
pub(crate) fn encode(cmd: &RemotingCommand, out: &mut Vec<u8>) {
    debug_assert!(
        fits(cmd),
        "code/version must fit 16 bits for the ROCKETMQ encoding"
    );
    out.put_i16(i16::try_from(cmd.code).unwrap_or(i16::MAX));
    out.put_u8(cmd.language.0);
    out.put_i16(i16::try_from(cmd.version).unwrap_or(i16::MAX));
    out.put_i32(cmd.opaque);
    out.put_i32(cmd.flag);
    match &cmd.remark {
        Some(remark) if !remark.is_empty() => {
            out.put_i32(len_i32(remark.len()));
            out.put_slice(remark.as_bytes());
        }
        _ => out.put_i32(0),
    }
    let map_len: usize = cmd
        .ext_fields
        .iter()
        .map(|(k, v)| 2 + k.len() + 4 + v.len())
        .sum();
    out.put_i32(len_i32(map_len));
    for (k, v) in &cmd.ext_fields {
        out.put_i16(i16::try_from(k.len()).unwrap_or(i16::MAX));
        out.put_slice(k.as_bytes());
        out.put_i32(len_i32(v.len()));
        out.put_slice(v.as_bytes());
    }
}

fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(DecodeError::HeaderTruncated {
                needed: n,
                at: self.at,
                len: self.bytes.len(),
            })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn len(&mut self, raw: i64) -> Result<usize, DecodeError> {
        let len = usize::try_from(raw).map_err(|_| DecodeError::BadFieldLength { length: raw })?;
        if len > self.bytes.len() - self.at {
            return Err(DecodeError::BadFieldLength { length: raw });
        }
        Ok(len)
    }

    fn str(&mut self, len: usize) -> Result<&'a str, DecodeError> {
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8)
    }
}

pub(crate) fn decode(bytes: &[u8]) -> Result<HeaderFields, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    let code = i32::from(r.i16()?);
    let language = LanguageCode(r.array::<1>()?[0]);
    let version = i32::from(r.i16()?);
    let opaque = r.i32()?;
    let flag = r.i32()?;
    let remark_raw = r.i32()?;
    let remark_len = r.len(i64::from(remark_raw))?;
    let remark = if remark_len == 0 {
        None
    } else {
        Some(r.str(remark_len)?.to_owned())
    };
    let map_raw = r.i32()?;
    let map_len = r.len(i64::from(map_raw))?;
    let map_end = r.at + map_len;
    let mut ext_fields = ExtFields::builder_within(map_len);
    while r.at < map_end {
        let key_raw = r.i16()?;
        let key_len = r.len(i64::from(key_raw))?;
        let key = r.str(key_len)?;
        let value_raw = r.i32()?;
        let value_len = r.len(i64::from(value_raw))?;
        let value = r.str(value_len)?;
        ext_fields.field(key, |out| out.push_str(value));
    }
    let ext_fields = ext_fields.finish();
    if r.at != map_end {
        return Err(DecodeError::BadFieldLength {
            length: i64::from(map_raw),
        });
    }
    Ok(HeaderFields {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
    })
}
